"""One LISTEN connection per API process, shared: PostgreSQL notifications, fanned out to callbacks.

A NOTIFY is delivered only when the transaction that sent it commits, so a listener hears of a
change exactly when every other connection can see it (a turn's lease given back, a session
revoked), and a rolled-back change wakes nobody. Notifications are a wake-up, never the only way:
while the connection is down nothing is heard, so each subscriber is told when listening stops and
starts again (and re-checks what it waits for). A dropped connection is reopened (1 s, 2 s, … up to
30 s apart), and an idle one is checked every 30 s so a silently dead one is noticed.

Behind PgBouncer in transaction pooling, point DATABASE_URL at a session-pooled or direct address:
LISTEN needs a connection of its own (the worker's LISTEN needs the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

MAX_RECONNECT_SECONDS = 30.0
IDLE_CHECK_SECONDS = 30.0

Handler = Callable[[str], None]
StateHandler = Callable[[bool], None]


class PgListener:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._handlers: dict[str, list[Handler]] = {}
        self._state_handlers: list[StateHandler] = []
        self._task: asyncio.Task[None] | None = None
        self.listening = False

    def subscribe(self, channel: str, handler: Handler, on_state: StateHandler | None = None) -> None:
        """Call `handler(payload)` for every notification on `channel`, and `on_state(listening)`
        whenever listening starts or stops. Subscribe before `start`."""
        self._handlers.setdefault(channel, []).append(handler)
        if on_state is not None:
            self._state_handlers.append(on_state)

    async def start(self) -> None:
        if self._task is None and self._handlers:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                connection = await asyncpg.connect(self._url)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("cannot LISTEN (%s); retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_SECONDS)
                continue
            try:
                await self._listen(connection)
                delay = 1.0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("LISTEN connection lost (%s); reconnecting", type(error).__name__)
            finally:
                self._set_listening(False)
                with contextlib.suppress(Exception):
                    await connection.close(timeout=1)
            await asyncio.sleep(delay)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        for channel in self._handlers:
            await connection.add_listener(channel, self._dispatch)
        self._set_listening(True)
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), IDLE_CHECK_SECONDS)
            except TimeoutError:
                await connection.execute("SELECT 1", timeout=5)

    def _dispatch(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, []):
            try:
                handler(payload)
            except Exception:  # one subscriber's bug must not silence the others
                log.exception("a %s notification handler failed", channel)

    def _set_listening(self, listening: bool) -> None:
        if listening == self.listening:
            return
        self.listening = listening
        for handler in self._state_handlers:
            handler(listening)
