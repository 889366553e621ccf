"""Pure rules: the default-deny engine, guardrails, emergency triage, PII redaction.

Nothing in this package does I/O or imports another Frontdesk package.
"""
