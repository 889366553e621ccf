"""Where a webhook may be sent: the URL rules, and the guard against server-side request forgery.

A clinic types the URL, so it could name our own network: the metadata service (169.254.169.254),
the database, a loopback admin port. Outside development every address the host resolves to must
be a public one, checked when the name is resolved for the connection (sender.GuardedResolver) and
the very addresses checked are the ones connected to, so a name that resolves differently the next
time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from backend.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2000


class TargetRefused(Exception):
    """The URL may not be called from here: why, in words for the delivery log."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    https: bool


def parse(url: str, *, production: bool, field: str = "url") -> Target:
    """A URL a webhook may be registered with; ValidationFailed says what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(field, f"a URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValidationFailed(field, f"not a URL: {error}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(field, "an absolute http(s) URL such as https://clinic.example/hooks")
    if production and parts.scheme != "https":
        raise ValidationFailed(field, "webhooks are sent over https only")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(field, "no credentials in the URL; verify our signature instead")
    if parts.fragment:
        raise ValidationFailed(field, "no #fragment: it is never sent to the server")
    https = parts.scheme == "https"
    return Target(url, parts.hostname.lower(), port or (443 if https else 80), https)


def refuse_private_literal(target: Target, field: str = "url") -> None:
    """At registration: a URL naming a private address outright is refused at once (a host name
    is checked when it is called, since DNS answers change)."""
    if target.host == "localhost" or target.host.endswith(".localhost"):
        raise ValidationFailed(field, "this address is on a private network and cannot receive webhooks")
    try:
        address = ipaddress.ip_address(target.host)
    except ValueError:
        return
    if not is_public(address):
        raise ValidationFailed(field, "this address is on a private network and cannot receive webhooks")


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_address(host: str, address: str) -> None:
    """Raise TargetRefused unless `address` (what `host` resolved to) is a public one."""
    if not is_public(ipaddress.ip_address(address.split("%")[0])):
        raise TargetRefused(f"{host} is a private, loopback or link-local address ({address}); refused")


def check_literal(url: str) -> None:
    """A URL naming an address outright must name a public one."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    check_address(host, str(address))
