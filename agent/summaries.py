"""What the patient agrees to before a booking or a move, in the words they are shown and the facts
those words name (`policy.facts.Summary`): the policy binds their yes to exactly this."""

from __future__ import annotations

from datetime import datetime

from agent.ports import HoldInfo
from agent.replies import when_label
from policy.engine import BookingFacts, Summary


def booking(
    hold: HoldInfo, name: str, phone: str | None, email: str | None, texts: bool, timezone: str
) -> Summary:
    contact = " and ".join(x for x in (phone, email) if x)
    text = (
        f"{hold.service_name} on {when_label(hold.starts_at, timezone)} with {hold.provider_name}, "
        f"for {name} ({contact})"
    )
    if phone:
        text += "; we'll text you the confirmation and reminders" if texts else "; no texts"
    facts = (
        hold.id,
        hold.service_id,
        hold.provider_name,
        hold.starts_at.isoformat(),
        name,
        phone or "",
        email or "",
        str(texts),
    )
    return Summary("confirm_booking", text, facts)


def move(target: BookingFacts, new_start: datetime, timezone: str) -> Summary:
    old = when_label(target.starts_at, timezone) if target.starts_at else "its current time"
    text = f"your {target.service_name or 'appointment'} from {old} to {when_label(new_start, timezone)}"
    was = target.starts_at.isoformat() if target.starts_at else ""
    facts = (target.reference, was, new_start.isoformat())
    return Summary("reschedule_booking", text, facts)
