"""The HTML pages the server renders itself (the demo clinic site, waitlist offers)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

pages = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
