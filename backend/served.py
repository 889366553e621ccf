"""The ASGI application for `frontdesk serve --workers N`: each uvicorn process imports this and
builds the app from the environment the parent prepared (database, Redis, secrets)."""

from __future__ import annotations

from backend.app import asgi, create_app
from backend.core import logs
from backend.core.settings import get_settings

_settings = get_settings()
logs.configure(_settings.log_level, _settings.log_lines)
application = asgi(create_app(_settings, demo_widget_key=_settings.demo_widget_key))
