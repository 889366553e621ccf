"""A circuit breaker per provider: after repeated failures, pause sending to it for a cool-down that
doubles with every further failure, then probe it (half open) until it recovers."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.settings import Settings
from backend.messaging import provider_alerts
from backend.messaging.models import ProviderCircuit


async def states(
    session: AsyncSession, providers: list[str], settings: Settings, now: datetime
) -> dict[str, str]:
    rows = await session.execute(select(ProviderCircuit).where(ProviderCircuit.provider.in_(providers)))
    states = {}
    for circuit in rows.scalars():
        if circuit.failures < settings.circuit_failure_threshold or circuit.opened_until is None:
            states[circuit.provider] = "closed"
        elif circuit.opened_until > now:
            states[circuit.provider] = "open"
        else:
            states[circuit.provider] = "half_open"
    return states


async def record_provider_health(
    session: AsyncSession, settings: Settings, provider: str, *, succeeded: bool, failures: int, now: datetime
) -> None:
    """After a batch: any success closes the circuit; only failures add up, and past the threshold
    open it for a cool-down that doubles with every further failure. The clinics waiting on it are
    told when it opens and when it closes again (provider_alerts.py)."""
    if succeeded:
        before = (
            select(ProviderCircuit.provider, ProviderCircuit.opened_until)
            .where(ProviderCircuit.provider == provider)
            .with_for_update()
            .subquery()
        )
        was_open = await session.execute(
            update(ProviderCircuit)
            .where(ProviderCircuit.provider == before.c.provider, ProviderCircuit.failures > 0)
            .values(failures=0, opened_until=None)
            .returning(before.c.opened_until)
        )
        if was_open.scalar_one_or_none() is not None:
            await provider_alerts.closed(session, provider)
        return
    if failures == 0:
        return
    circuit = (
        await session.execute(
            insert(ProviderCircuit)
            .values(provider=provider, failures=failures)
            .on_conflict_do_update(
                index_elements=[ProviderCircuit.provider],
                set_={"failures": ProviderCircuit.failures + failures, "updated_at": func.now()},
            )
            .returning(ProviderCircuit)
        )
    ).scalar_one()
    over = circuit.failures - settings.circuit_failure_threshold
    if over >= 0:
        cool_down = min(settings.circuit_open_seconds * 2**over, settings.circuit_max_open_seconds)
        circuit.opened_until = now + timedelta(seconds=cool_down)
        if over < failures:  # it was below the threshold before this batch: it has just opened
            await provider_alerts.opened(session, provider, circuit.opened_until, now)
