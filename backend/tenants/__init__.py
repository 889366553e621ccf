"""Tenants: a clinic (or salon, office) with its settings and API keys; creating one with its catalogue
and first key; who a request's key belongs to; the demo tenant. Owns `tenants` and `api_keys`."""
