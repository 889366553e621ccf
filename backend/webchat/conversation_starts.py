"""New conversations per publishable key: the key's ceiling, shared fairly among visitors.

A widget key may start `RATE_LIMIT_CONVERSATIONS_PER_WIDGET_KEY` conversations in a moving window.
One address may use at most `WIDGET_KEY_SHARE_PER_ADDRESS` of that, and one network
`WIDGET_KEY_SHARE_PER_NETWORK`. An address is an IPv4 address or an IPv6 /64 (what one machine is
given); a network is an IPv4 /24 or an IPv6 /48 (what one rented block holds). A visitor over their
own share is refused before the key's ceiling is counted, so one script — or a block of addresses
— cannot spend the clinic's conversations and lock its real visitors out for the rest of the hour.

Reaching the ceiling itself tells the clinic, at most once an hour per key: an e-mail to its alert
address and owners (through the outbox) and a `widget_key.limit_reached` event. Everything is
counted with the `limits` library in Redis, like every other limit, and lets everyone in when Redis
cannot answer (core/rate_limits.py).
"""

from __future__ import annotations

import ipaddress
import math
import uuid
from collections.abc import Callable
from datetime import datetime

from limits import RateLimitItem, parse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.context import Caller
from backend.core.db import Database
from backend.core.errors import RateLimited
from backend.core.event_catalogue import WidgetKeyLimitReached
from backend.core.rate_limits import RateLimits
from backend.core.settings import Settings
from backend.messaging import staff_alerts
from backend.tenants import service as tenants

ALERT_EVERY = "1/hour"


def address_and_network(address: str) -> tuple[str, str]:
    """The visitor's address (IPv6: its /64) and network (IPv4 /24, IPv6 /48); anything that is
    not an IP address stands for itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address, address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip), str(ipaddress.ip_network(f"{ip}/24", strict=False))
    return (
        str(ipaddress.ip_network(f"{ip}/64", strict=False)),
        str(ipaddress.ip_network(f"{ip}/48", strict=False)),
    )


class CeilingReached(RateLimited):
    """The key's own ceiling, not one visitor's share, said no: the clinic is told."""

    def __init__(self, limited: RateLimited, tenant_id: uuid.UUID, key_id: uuid.UUID) -> None:
        super().__init__(limited.message, details=limited.details, headers=limited.headers)
        self.tenant_id = tenant_id
        self.key_id = key_id


class ConversationStarts:
    def __init__(
        self, settings: Settings, limits: RateLimits, db: Database, clock: Callable[[], datetime]
    ) -> None:
        self.enabled = settings.rate_limits_enabled
        self.ceiling = parse(settings.rate_limit_conversations_per_widget_key)
        self.per_address = _share(self.ceiling, settings.widget_key_share_per_address)
        self.per_network = _share(self.ceiling, settings.widget_key_share_per_network)
        self.limits = limits
        self.db = db
        self.clock = clock

    async def admit(self, tenant_id: uuid.UUID, key_id: uuid.UUID, address: str) -> None:
        """Count a new conversation of this key from `address`; RateLimited when the visitor's share
        is spent, CeilingReached when the key's is."""
        if not self.enabled:
            return
        key = str(key_id)
        own, network = address_and_network(address)
        busy = "too many new conversations from your"
        await self.limits.take(self.per_address, "starts-address", key, own, refusal=f"{busy} address")
        await self.limits.take(self.per_network, "starts-network", key, network, refusal=f"{busy} network")
        try:
            await self.limits.take(self.ceiling, "starts", key, refusal="too many new conversations")
        except RateLimited as limited:
            raise CeilingReached(limited, tenant_id, key_id) from None

    async def tell_clinic(self, reached: CeilingReached) -> None:
        """The clinic's e-mail and event, unless it was told within the hour."""
        if await self.limits.first_in(ALERT_EVERY, "starts-alert", str(reached.key_id)):
            await self.db.transaction(lambda session: self._alert(session, reached))

    async def _alert(self, session: AsyncSession, reached: CeilingReached) -> None:
        tenant = await tenants.get_context(session, reached.tenant_id)
        caller = Caller(tenant, "system", f"widget-key:{reached.key_id}")
        wait = reached.retry_after or 1
        events.emit(
            session,
            caller,
            WidgetKeyLimitReached(
                api_key_id=reached.key_id, limit=str(self.ceiling), retry_after_seconds=wait
            ),
        )
        now = self.clock()
        await staff_alerts.tell_staff(
            session,
            caller,
            kind="widget_key_limit",
            subject="your chat widget is turning visitors away",
            body=(
                f"The chat widget on your site (publishable key {reached.key_id}) has started "
                f"{self.ceiling} conversations, its ceiling. New visitors are refused for about "
                f"{math.ceil(wait / 60)} more minutes; conversations already open go on.\n\n"
                "No single address or network can use more than a small share of the ceiling, so this "
                "is many visitors at once, or a spread-out script. If your site really is this busy, "
                "ask your Frontdesk operator to raise RATE_LIMIT_CONVERSATIONS_PER_WIDGET_KEY; if not, "
                "revoke the key and put a new one on your site."
            ),
            dedupe_key=f"widget_key_limit:{reached.key_id}:{now:%Y-%m-%dT%H}",
            now=now,
            see="Settings, API keys",
        )


def _share(ceiling: RateLimitItem, fraction: float) -> RateLimitItem:
    return type(ceiling)(max(1, math.floor(ceiling.amount * fraction)), ceiling.multiples)
