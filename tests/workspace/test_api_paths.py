"""Every API path a person or a page is pointed at exists: the workspace's forms and buttons
(`data-api` with its `data-method`), the literal paths its scripts fetch, and every "METHOD /api/v1/…"
written in a message, a docstring or the README."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.routing import Match

from backend.app import create_app
from backend.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AN_ID = str(uuid.uuid4())
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}|\{[^}]*\}|<[^>]*>")
_FORM = re.compile(r'data-api="([^"]+)"(?:\s+data-method="([A-Z]+)")?')
_SCRIPT = re.compile(r'(?:api\(\s*"([A-Z]+)",\s*)?"(/api/v1/[^"]+)"(?!\s*\+)')
_METHOD = "(?:GET|POST|PUT|PATCH|DELETE)"
_TEXT = re.compile(rf"\b({_METHOD}(?:/{_METHOD})*) (/api/v1/[A-Za-z0-9_{{}}<>./:\-]+)")


def _concrete(path: str) -> str:
    return _PLACEHOLDER.sub(AN_ID, path).split("?")[0].rstrip(".:,")


def _cited() -> list[tuple[str, str, str]]:
    """(where, method, path) for every path cited."""
    found = []
    for template in sorted((ROOT / "backend/dashboard/templates").glob("*.html")):
        for path, method in _FORM.findall(template.read_text()):
            found.append((template.name, method or "POST", _concrete(path)))
    for script in sorted((ROOT / "backend/dashboard/static").glob("*.js")):
        for method, path in _SCRIPT.findall(script.read_text()):
            found.append((script.name, method or "GET", _concrete(path)))
    texts = [ROOT / "README.md", *sorted((ROOT / "backend").rglob("*.py"))]
    for text in texts:
        for methods, path in _TEXT.findall(text.read_text()):
            for method in methods.split("/"):
                found.append((str(text.relative_to(ROOT)), method, _concrete(path)))
    return found


@pytest.fixture(scope="module")
def app(settings: Settings):
    return create_app(settings)


def _routed(app, method: str, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": method}
    return any(route.matches(scope)[0] is Match.FULL for route in app.routes)


def test_the_scan_finds_the_workspace_forms_and_the_texts():
    where = {w for w, _, _ in _cited()}
    assert {"connections.html", "webhook.html", "inbox.js", "README.md", "backend/events/alerts.py"} <= where


@pytest.mark.parametrize("where, method, path", _cited(), ids=lambda v: v if "/" not in v else None)
def test_every_cited_path_is_an_api_route(app, where: str, method: str, path: str):
    assert _routed(app, method, path), f"{where} cites {method} {path}, which no route answers"
