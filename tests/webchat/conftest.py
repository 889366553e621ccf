"""The widget's key for the Socket.IO tests, which drive a real `frontdesk serve` process."""

from __future__ import annotations

import httpx
import pytest

PAGE = "https://clinic.example"


@pytest.fixture(scope="module")
def widget_key(live_server) -> str:
    response = httpx.post(
        f"{live_server.base_url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {live_server.demo_key}"},
        json={"kind": "publishable", "allowed_origins": [PAGE]},
    )
    assert response.status_code == 201
    return response.json()["key"]
