"""The clinic's workspace: server-rendered pages (Jinja2) for the front desk. Pages read through
the same handlers the API serves, and their forms call the API itself (with the session cookie and
the CSRF token), so the workspace can do nothing a clinic's own software cannot."""
