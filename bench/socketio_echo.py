"""The baseline for bench/chat.py: a bare python-socketio server that acknowledges each message at once.

Usage: python bench/socketio_echo.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")


@sio.event
async def message(sid: str, data: Any) -> dict[str, Any]:
    await sio.emit("message", {"seq": 0, "role": "assistant", "text": data.get("text", "")}, to=sid)
    return {"ok": True, "seq": 0}


if __name__ == "__main__":
    uvicorn.run(socketio.ASGIApp(sio), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
