"""A local OpenAI-compatible chat completions server that plays a script, so the real `openai` SDK runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.serving import free_port, serving

# A step gets the request body and returns a completion message, or an int (an HTTP error status),
# or a float (seconds to stall before answering, to provoke a client timeout).
Step = Callable[[dict[str, Any]], dict[str, Any] | int | float]


def tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def acts(*recorded: dict[str, Any]) -> dict[str, Any]:
    """The model's dialogue acts, as the forced `record_acts` call returns them."""
    return tool_call("record_acts", {"acts": list(recorded)})


def text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def last_tool_result(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(next(m for m in reversed(body["messages"]) if m["role"] == "tool")["content"])


@dataclass
class FakeOpenAI:
    base_url: str
    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    repeat_last: bool = False


def _app(fake: FakeOpenAI) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> JSONResponse:
        body = await request.json()
        fake.requests.append(body)
        if not fake.script:
            return JSONResponse({"error": {"message": "script exhausted", "type": "server_error"}}, 500)
        step = fake.script[0] if fake.repeat_last and len(fake.script) == 1 else fake.script.pop(0)
        outcome = step(body)
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
            outcome = text("too late")
        if isinstance(outcome, int):
            return JSONResponse({"error": {"message": "provider failure", "type": "server_error"}}, outcome)
        finish = "tool_calls" if outcome.get("tool_calls") else "stop"
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(fake.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": outcome, "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    return app


@asynccontextmanager
async def running_fake_openai() -> AsyncIterator[FakeOpenAI]:
    port = free_port()
    fake = FakeOpenAI(base_url=f"http://127.0.0.1:{port}/v1")
    async with serving(_app(fake), port):
        yield fake
