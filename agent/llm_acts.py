"""The dialogue acts a language model may produce, as the JSON it must return, and how that JSON
becomes the same `Act`s the rules produce: every field checked against what the practice has (a
service or provider id it does not have, a day that does not exist, an option not on offer is
dropped), so the manager carries out a model's understanding exactly as it carries out the rules'.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.understanding import Act, Context, DayAsk, Reading, Relative, TimeAsk
from agent.understanding.acts import MEDIUM

Kind = Literal[
    "answer",
    "existing",
    "book",
    "frame",
    "waitlist",
    "not_offered",
    "decline",
    "human",
    "restart",
    "help",
    "menu",
    "greet",
    "thanks",
    "bye",
    "unknown",
]
TOPICS = {
    "answer": {"hours", "duration", "offered", "price", "question"},
    "existing": {"lookup", "move", "cancel"},
    "book": {"another"},
    "decline": {"keep"},
    "not_offered": {"lexicon", "unknown"},
    "unknown": {"foreign", "emoji", "unspaced"},
}
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RelativeOut(_Out):
    days: int = Field(default=0, ge=-60, le=60, description="days later (negative: earlier)")
    minutes: int = Field(default=0, ge=-600, le=600, description="minutes later (negative: earlier)")
    same_time: bool = False
    week_after: bool = Field(default=False, description="any day of the week after the booking's")


class ActOut(_Out):
    kind: Kind
    confidence: float = Field(default=0.9, ge=0, le=1)
    topic: str | None = Field(
        default=None,
        description="answer: hours|duration|offered|price|question; "
        "existing: lookup|move|cancel; decline: keep (at a cancel question)",
    )
    said: str = Field(default="", max_length=500, description="the words of the message this act comes from")
    subject: str = Field(
        default="", max_length=100, description="not_offered: the service asked for, as said"
    )
    faq_id: str | None = Field(
        default=None, max_length=100, description="answer: the id of the FAQ entry that answers it"
    )
    service_id: str | None = Field(default=None, description="a service id from the catalogue")
    provider_id: str | None = Field(default=None, description="a provider id from the list")
    date_from: date | None = Field(default=None, description="the day asked for (YYYY-MM-DD), or the first")
    date_to: date | None = Field(default=None, description="the last day of a range")
    time: str | None = Field(default=None, pattern=HH_MM, description="the time asked for, 24-hour HH:MM")
    approximate: bool = Field(default=False, description="'around 3' rather than 'at 3'")
    after: str | None = Field(default=None, pattern=HH_MM)
    before: str | None = Field(default=None, pattern=HH_MM)
    part_of_day: Literal["morning", "afternoon", "evening"] | None = None
    relative: RelativeOut | None = Field(default=None, description="a move relative to the booking in play")
    option: int | None = Field(default=None, ge=1, le=12, description="which offered option (1-based)")
    shift: Literal["more", "later", "earlier", "other_days", "none", "later_week"] | None = None
    yes: bool = False
    no: bool = False
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    reference: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{6}$")
    booking_service_id: str | None = Field(
        default=None, description="existing: the service of the booking meant"
    )
    booking_date: date | None = Field(default=None, description="existing: the day of the booking meant")
    alternative_kind: Kind | None = Field(default=None, description="a close second reading")
    alternative_topic: str | None = None


class ActsOut(_Out):
    acts: list[ActOut] = Field(min_length=1, max_length=8)


def schema() -> dict[str, Any]:
    return ActsOut.model_json_schema()


class InvalidActs(ValueError):
    pass


def parse(arguments: str, context: Context) -> list[Act]:
    """The model's JSON as acts, validated; raises InvalidActs when nothing valid is left."""
    try:
        out = ActsOut.model_validate_json(arguments)
    except ValidationError as error:
        raise InvalidActs(str(error.errors()[:3])) from error
    acts = [_act(a, context) for a in out.acts]
    return acts


def _act(out: ActOut, context: Context) -> Act:
    topic = out.topic if out.topic in TOPICS.get(out.kind, set()) else None
    if out.kind == "existing" and topic is None:
        topic = "lookup"
    reading = _reading(out, context)
    hint = None
    if out.kind == "existing":
        services = tuple(s for s in (out.booking_service_id,) if s in {n.id for n in context.services})
        day = out.booking_date if out.booking_date and out.booking_date >= context.today else None
        hint = Reading(text="", services=services, days=DayAsk(day, day) if day else None)
    alternative = None
    if out.alternative_kind is not None and out.alternative_kind != out.kind:
        alt_topic = (
            out.alternative_topic
            if out.alternative_topic in TOPICS.get(out.alternative_kind, set())
            else None
        )
        alternative = Act(
            out.alternative_kind, reading, MEDIUM, topic=alt_topic, said=out.said, hint=Reading(text="")
        )
    faq = out.faq_id if out.kind == "answer" and out.faq_id in context.faq_ids else None
    return Act(
        out.kind,
        reading,
        out.confidence,
        topic=topic,
        subject=out.subject,
        said=out.said,
        hint=hint,
        alternative=alternative,
        faq=faq,
    )


def _reading(out: ActOut, context: Context) -> Reading:
    """The slots of an act, each checked as the rules' readers would have it."""
    services = tuple(s for s in (out.service_id,) if s in {n.id for n in context.services})
    provider = out.provider_id if out.provider_id in {p.id for p in context.providers} else None
    days = None
    if out.date_from is not None and out.date_from >= context.today:
        last = out.date_to if out.date_to and out.date_to >= out.date_from else out.date_from
        days = DayAsk(out.date_from, last)
    ask = TimeAsk(
        exact=_clock(out.time),
        approximate=out.approximate,
        after=_clock(out.after),
        before=_clock(out.before),
        part_of_day=out.part_of_day,
    )
    relative = None
    if out.relative is not None:
        r = out.relative
        relative = Relative(
            same_time=r.same_time or bool(r.days),
            day_offset=r.days,
            minutes=r.minutes,
            week_after=r.week_after,
        )
    options = (out.option - 1,) if out.option is not None and out.option <= len(context.offered) else ()
    reference = out.reference.upper() if out.reference else None
    return Reading(
        text=out.said.lower(),
        services=services,
        provider_id=provider,
        days=days,
        time=ask if ask.said_anything else None,
        relative=relative,
        options=options,
        shift=None if options else out.shift,
        yes=out.yes and not out.no,
        no=out.no,
        name=_name(out.name),
        phone=out.phone,
        email=out.email if out.email and re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}", out.email) else None,
        reference=reference,
    )


def _clock(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _name(value: str | None) -> str | None:
    if not value or not re.fullmatch(r"[A-Za-z][A-Za-z' .-]{0,99}", value.strip()):
        return None
    return value.strip()
