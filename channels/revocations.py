"""Ending live Socket.IO connections when what let them in is revoked.

A connection joins a room named after each thing it was admitted on ("key:<id>" for a widget key,
"session:<id>" and "staff:<id>" for the inbox); when one of them is revoked, `revoked(room)`
disconnects this process's connections in that room, in every namespace. The backend calls it for
every revocation any process commits, so a connection held by any process ends.

A connection admitted on a check made just before a revocation committed would slip through: the
revocation is heard while its connect handler is still running. So revocations heard in the last
minute are remembered, and `join` refuses a connection whose room was revoked after its check began.
"""

from __future__ import annotations

import asyncio
import logging
import math

import socketio

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 60.0
# A connection in a revoked room still finishing its handshake is looked at again this often.
CONNECTING_RECHECK_SECONDS = 0.05
CONNECTING_CHECKS = 100


class Revocations:
    def __init__(self) -> None:
        self._sio: socketio.AsyncServer | None = None
        self._heard: dict[str, float] = {}
        self._ending: set[asyncio.Task[None]] = set()

    def serve(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    @staticmethod
    def clock() -> float:
        """When a connection's check begins: pass it to `join`."""
        return asyncio.get_running_loop().time()

    async def join(self, sid: str, namespace: str, rooms: list[str], checked_at: float) -> bool:
        """Enter `rooms`; False (leave the connection refused) if one was revoked after `checked_at`."""
        assert self._sio is not None
        for name in rooms:
            await self._sio.enter_room(sid, name, namespace=namespace)
        return not any(self._heard.get(name, -math.inf) >= checked_at for name in rooms)

    def revoked(self, room: str) -> None:
        """Disconnect this process's connections in `room`, now."""
        now = self.clock()
        self._heard = {name: at for name, at in self._heard.items() if at > now - REMEMBER_SECONDS}
        self._heard[room] = now
        task = asyncio.get_running_loop().create_task(self._disconnect(room))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _disconnect(self, room: str) -> None:
        sio = self._sio
        for _ in range(CONNECTING_CHECKS):
            connecting = False
            for namespace in list(sio.manager.get_namespaces()) if sio else []:
                for sid, _ in list(sio.manager.get_participants(namespace, room)):
                    if not sio.manager.is_connected(sid, namespace):
                        connecting = True  # its handshake is finishing: end it once it has
                        continue
                    log.info("ending a %s connection: its %s was revoked", namespace, room.split(":", 1)[0])
                    # Every process hears the revocation itself: no need to broadcast the disconnect.
                    await sio.disconnect(sid, namespace=namespace, ignore_queue=True)
            if not connecting:
                return
            await asyncio.sleep(CONNECTING_RECHECK_SECONDS)
