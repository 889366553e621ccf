"""A failed connection to someone else's server, said in a sentence a person can act on.

The HTTP libraries' own texts (`HTTPConnectionPool(host=…): Max retries exceeded … NewConnectionError(
'<urllib3.connection.HTTPConnection object at 0x…>')`) are for developers: they go to the log, and
what staff read (a form's error, a connection's last error, an alert e-mail) is the sentence.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from collections.abc import Iterator

log = logging.getLogger(__name__)

_REFUSED = {errno.ECONNREFUSED}
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_CUT = {errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE}


def _chain(problem: BaseException) -> Iterator[BaseException]:
    """The problem and everything it wraps: causes, contexts, and the errors libraries keep in
    `reason` (urllib3) or in their arguments (requests, aiohttp)."""
    seen: set[int] = set()
    todo: list[BaseException] = [problem]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += [getattr(current, "os_error", None), *getattr(current, "args", ())]
        todo += [w for w in wrapped if isinstance(w, BaseException)]


def _mentions(problem: BaseException, *words: str) -> bool:
    text = str(problem).lower()
    return any(word in text for word in words)


def _sentence(problem: BaseException) -> str:
    chain = list(_chain(problem))
    for link in chain:
        if isinstance(link, socket.gaierror) or _mentions(
            link, "name or service not known", "nodename nor servname", "failed to resolve", "name resolution"
        ):
            return "could not be found: check the host name in its address"
    for link in chain:
        number = getattr(link, "errno", None)
        if isinstance(link, ConnectionRefusedError) or number in _REFUSED or _mentions(link, "refused"):
            return "refused the connection: check the address and port, and that the server is running"
        if number in _UNREACHABLE:
            return "cannot be reached from here: check the address"
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError) or _mentions(link, "certificate verify failed"):
            return "sent a certificate that is not valid for its address"
        if isinstance(link, ssl.SSLError):
            return "could not be reached over a secure (https) connection"
    for link in chain:
        if isinstance(link, TimeoutError | socket.timeout) or _mentions(link, "timed out", "timeout"):
            return "did not answer in time"
        number = getattr(link, "errno", None)
        if isinstance(link, ConnectionResetError) or number in _CUT:
            return "closed the connection before answering"
    return "could not be reached"


def plain_reason(problem: BaseException, server: str) -> str:
    """'the calendar server refused the connection: …' for `server` = 'the calendar server'; the
    library's own text goes to the log."""
    reason = f"{server} {_sentence(problem)}"
    log.warning("%s (%s: %s)", reason, type(problem).__name__, problem)
    return reason
