"""Tenant templates render in a few child processes, never in a server's own.

A template the rules and the sandbox let through may still find an operation that costs more than
it should; here that costs a child process, not the event loop: each child has a hard CPU-time
limit (the kernel ends it) and memory limit (`template_child.py`), and a render not answered
within the timeout gets the child killed. Either way the child is replaced on the next render and
the template is refused with the reason. Children speak JSON lines over pipes: nothing they send
is unpickled, so even a child that escaped the sandbox cannot run code in the server.

The pool is per process (the API and the worker each have one), and starts its children on first
use. Each child renders one template at a time; a render waits for a free child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from backend.core.settings import Settings
from backend.messaging.template_sandbox import TIME_BUDGET_SECONDS, TemplateRefused

log = logging.getLogger(__name__)
# An answer is at most three parts of MAX_OUTPUT_CHARS, JSON-escaped: well under this.
MAX_ANSWER_BYTES = 1024 * 1024
_CHILD = "backend.messaging.template_child"
_STATUS_LOST = 255


@dataclass(frozen=True)
class RenderLimits:
    processes: int = 2
    timeout_seconds: float = 2.0
    cpu_seconds: int = 1
    memory_mb: int = 256
    # The sandbox's own stop for Python-level loops, well inside the CPU limit.
    budget_seconds: float = TIME_BUDGET_SECONDS

    @classmethod
    def of(cls, settings: Settings) -> RenderLimits:
        return cls(
            processes=settings.template_processes,
            timeout_seconds=settings.template_timeout_seconds,
            cpu_seconds=settings.template_cpu_seconds,
            memory_mb=settings.template_memory_mb,
        )


def _child_environment() -> dict[str, str]:
    """Nothing of the server's environment (its secrets) but where Python finds our code."""
    return {name: os.environ[name] for name in ("PATH", "PYTHONPATH", "LANG") if name in os.environ}


class _Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """The child's answer; the caller bounds the wait (and kills the child if it ends)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise ConnectionResetError("the template process ended")
        return json.loads(line)

    async def kill(self) -> int | None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        return await self.process.wait()


class TemplateProcesses:
    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self._idle: list[_Child] = []
        self._free = asyncio.Semaphore(limits.processes)

    async def render(self, sources: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
        """Each of `sources` (part -> template source) rendered with `context`; TemplateRefused if
        one of them is refused, fails, or is stopped at a limit."""
        request = {
            "sources": sources,
            "context": context,
            "cpu_seconds": self.limits.cpu_seconds,
            "budget_seconds": self.limits.budget_seconds,
        }
        async with self._free:
            while self._idle and self._idle[-1].process.returncode is not None:
                self._idle.pop()  # ended while idle (killed from outside, say)
            child = self._idle.pop() if self._idle else await self._start()
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.limits.timeout_seconds):
                    answer = await child.ask(request)
            except (TimeoutError, ConnectionError, ValueError) as failure:
                returncode = await child.kill()
                raise self._stopped(returncode, failure, time.monotonic() - started) from None
            except BaseException:
                child.process.kill()  # cancelled mid-render: its late answer must not reach another
                raise
            self._idle.append(child)
        if "refused" in answer:
            raise TemplateRefused(str(answer["refused"]), str(answer["reason"]))
        return {part: str(text) for part, text in answer["texts"].items()}

    def _stopped(self, returncode: int | None, failure: Exception, took: float) -> TemplateRefused:
        # asyncio reports 255 for a child whose exit status it could not collect (another waiter in
        # the process reaped it); our child never exits with 255 itself. Then only the time tells:
        # a child that ended on its own after using up its CPU allowance in wall time hit that limit.
        lost = returncode == _STATUS_LOST and not isinstance(failure, TimeoutError)
        if returncode == -signal.SIGXCPU or (lost and took >= self.limits.cpu_seconds):
            reason = f"stopped at the CPU limit ({self.limits.cpu_seconds} s)"
        elif isinstance(failure, TimeoutError):
            reason = f"stopped at the time limit ({self.limits.timeout_seconds:g} s)"
        else:
            reason = f"stopped: its process ended (exit status {returncode})"
        log.warning("a tenant template was %s; its process is replaced", reason)
        return TemplateRefused(f"the template was {reason}: it costs too much to render", reason)

    async def _start(self) -> _Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            _CHILD,
            str(self.limits.memory_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # A child's traceback could quote a patient's details: it is not logged.
            stderr=asyncio.subprocess.DEVNULL,
            env=_child_environment(),
            limit=MAX_ANSWER_BYTES,
        )
        return _Child(process)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for child in idle:
            await child.kill()
