"""Template processes for the tests that reword queued messages as the worker does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.core.settings import Settings
from backend.messaging.template_processes import RenderLimits, TemplateProcesses


@pytest.fixture(scope="session")
async def template_processes(settings: Settings) -> AsyncIterator[TemplateProcesses]:
    processes = TemplateProcesses(RenderLimits.of(settings))
    yield processes
    await processes.close()
