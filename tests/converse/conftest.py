from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.converse.servers import TextingServer
from tests.converse.servers import texting_server as running


@pytest.fixture(scope="module")
def texting_server(settings, tmp_path_factory) -> Iterator[TextingServer]:
    with running(settings, tmp_path_factory.mktemp("texting")) as server:
        yield server
