"""Logging an outage once: its first failure and its end, not one traceback per retry.

A loop that keeps trying something that depends on another server (PostgreSQL, Redis, a provider)
reports through an `Outage`: the first failure is a warning naming the error, the retries are
silent (debug), and the first success afterwards says how long it lasted.
"""

from __future__ import annotations

import logging
import time


class Outage:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning(
                "%s failed (%s: %s); retrying until it works", self.what, type(error).__name__, error
            )
        else:
            self.log.debug("%s still failing: %s", self.what, type(error).__name__)

    def recovered(self) -> None:
        if self.since is not None:
            self.log.warning("%s works again after %.1f s", self.what, time.monotonic() - self.since)
            self.since = None
