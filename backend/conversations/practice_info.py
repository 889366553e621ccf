"""What the agent knows of the practice for a turn (`agent.ports.PracticeInfo`): its services,
providers, opening hours, closures, FAQ, switches and wording, read in the turn's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from agent.ports import ClosureInfo, DayHours, FaqEntry, PracticeInfo, ProviderInfo, ServiceInfo
from backend.core.context import TenantContext
from backend.core.schemas import WEEKDAYS
from backend.faq import service as faq
from backend.scheduling import catalog

if TYPE_CHECKING:
    from backend.scheduling.models import Service


async def practice_info(session: AsyncSession, tenant: TenantContext, now: datetime) -> PracticeInfo:
    services, links = await catalog.list_services(session, tenant)
    providers = await catalog.active_providers(session, tenant)
    hours = await catalog.opening_hours(session, tenant)
    closures = await catalog.practice_closures(session, tenant, now)
    answers = await faq.for_receptionist(session, tenant)
    settings = tenant.settings
    return PracticeInfo(
        name=tenant.name,
        timezone=tenant.timezone_name,
        country=settings.default_country,
        opening_hours=tuple(opening_hours_lines(hours)),
        hold_minutes=settings.hold_ttl_minutes,
        far_date_confirm_days=settings.far_date_confirm_days,
        staff_phone=settings.staff_phone,
        services=tuple(service_info(s, links.get(s.id, [])) for s in services),
        providers=tuple(ProviderInfo(str(pid), name) for pid, name in providers),
        profile=tenant.profile,
        week=weekly_hours(hours),
        closures=tuple(ClosureInfo(starts, ends, reason) for starts, ends, reason in closures),
        faq=tuple(FaqEntry(str(a.id), a.questions, a.answer) for a in answers),
        switches=tenant.switches,
    )


def weekly_hours(rows: list[tuple[int, time, time]]) -> tuple[DayHours, ...]:
    """Monday first: the hours any provider works that weekday, overlapping spans merged."""
    week = []
    for weekday in range(7):
        merged: list[list[time]] = []
        for opens, closes in sorted((a, b) for day, a, b in rows if day == weekday):
            if merged and opens <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], closes)
            else:
                merged.append([opens, closes])
        week.append(tuple((a, b) for a, b in merged))
    return tuple(week)


def opening_hours_lines(rows: list[tuple[int, time, time]]) -> list[str]:
    """ "Mon-Fri: 9:00 AM-12:00 PM, 1:00 PM-5:00 PM" from every provider's weekly hours, merged."""
    texts = [", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in day) or "closed" for day in weekly_hours(rows)]
    lines = []
    start = 0
    for weekday in range(1, 8):
        if weekday == 7 or texts[weekday] != texts[start]:
            days = (
                WEEKDAYS[start].title()
                if weekday - 1 == start
                else f"{WEEKDAYS[start].title()}-{WEEKDAYS[weekday - 1].title()}"
            )
            lines.append(f"{days}: {texts[start]}")
            start = weekday
    return lines


def _clock(moment: time) -> str:
    return f"{moment.hour % 12 or 12}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def service_info(service: Service, provider_ids: list[uuid.UUID] | None = None) -> ServiceInfo:
    return ServiceInfo(
        id=str(service.id),
        name=service.name,
        duration_minutes=service.duration_minutes,
        description=service.description,
        aliases=tuple(service.aliases),
        provider_ids=tuple(str(p) for p in provider_ids or ()),
    )
