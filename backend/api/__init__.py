"""The HTTP API: routes, authentication, the error envelope, idempotent commands."""
