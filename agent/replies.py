"""What a turn produces: replies with quick replies and cards, and how times are written in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuickReply:
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    # A structured summary the widget draws as a card: {"type": "booking", "reference": ..., ...}.
    card: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "quick_replies": [{"label": q.label, "value": q.value} for q in self.quick_replies],
            "card": self.card,
        }


@dataclass
class TurnResult:
    replies: list[Reply]
    engine: str
    emergency: str | None = None
    # The number the caller chose to be put through to (after an emergency on a call).
    dial: str | None = None
    tool_calls: list[str] = field(default_factory=list)
    understood: bool = True


def when_label(moment: datetime, timezone: str) -> str:
    """ "Tue, Dec 1 at 10:30 AM" in the practice's timezone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a, %b} {local.day} at {time_label(moment, timezone)}"


def time_label(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.hour % 12 or 12}:{local:%M %p}"


def day_label(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%A, %B} {local.day}"
