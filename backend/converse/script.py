"""The conversation-script format (docs/conversation-scripts.md): reading a file, the day specs, the
placeholders, and the checks of replies and bookings. Pure: no I/O but reading the file, no clock
(the caller says what today is), so the project's test runner and `frontdesk converse` read and
judge a script the same way."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INT = "tag:yaml.org,2002:int"
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BookingSpec(_Spec):
    service: str
    day: str
    time: Annotated[str, Field(pattern=HH_MM)]
    status: Literal["booked", "confirmed", "cancelled"] = "booked"
    provider: str | None = None


class Checks(_Spec):
    has: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    lacks: list[str] = Field(default_factory=list)
    chips: list[str] = Field(default_factory=list)
    no_chips: list[str] = Field(default_factory=list)


class Line(_Spec):
    text: str = Field(min_length=1)
    expect: Checks | None = None


class Before(_Spec):
    existing: list[BookingSpec] = Field(default_factory=list)
    taken: list[BookingSpec] = Field(default_factory=list)


class Expect(_Spec):
    bookings: list[BookingSpec] | None = None


class Script(_Spec):
    name: str = Field(min_length=1)
    kind: str = Field(default="", alias="class")
    channel: Literal["web", "sms"] = "web"
    days: dict[str, str] = Field(default_factory=dict)
    before: Before = Field(default_factory=Before)
    say: list[Line] = Field(min_length=1)
    replies: Checks | None = None
    expect: Expect = Field(default_factory=Expect)
    clinic: dict[str, Any] | None = None

    @field_validator("say", mode="before")
    @classmethod
    def _plain_lines(cls, lines: Any) -> Any:
        if isinstance(lines, list):
            return [line if isinstance(line, dict) else {"text": str(line)} for line in lines]
        return lines


class Patient(_Spec):
    name: str = "Jane Doe"
    phone: str = "+16175550100"


class ScriptFile(_Spec):
    version: Literal[1] = 1
    patient: Patient = Field(default_factory=Patient)
    clinic: dict[str, Any] | None = None
    scripts: list[Script] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ScriptFile:
        names = [s.name for s in self.scripts]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"script names must be unique: {', '.join(repeated)}")
        return self


def load(path: Path) -> ScriptFile:
    """A script file (YAML, or JSON, which YAML reads too). A `clinic` (of the file or of a script)
    given as a string is the path of a file holding it, relative to this one."""
    data = _read(path)
    if isinstance(data, dict):
        for holder in [data, *(s for s in data.get("scripts") or [] if isinstance(s, dict))]:
            if isinstance(holder.get("clinic"), str):
                holder["clinic"] = _read(path.parent / holder["clinic"])
    return ScriptFile.model_validate(data)


class _Yaml12Loader(yaml.SafeLoader):
    """YAML with the 1.2 core schema's scalars: `yes`, `no`, `on`, `off` and `10:00` stay text (1.1
    reads them as booleans and a number in base 60), which is what a patient's line means."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in {"tag:yaml.org,2002:bool", _INT}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_INT, r"^[-+]?[0-9]+$", "-+0123456789"),
):
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _read(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader)


# ---- days ----


def resolve_days(specs: Mapping[str, str], today: date) -> dict[str, date]:
    days: dict[str, date] = {}
    for name, spec in specs.items():
        days[name] = day_of(spec, today, days)
    return days


def day_of(spec: str, today: date, known: Mapping[str, date]) -> date:
    """The day a spec names (`+N`, `next:thu`, `nextweek:tue`, `nextmonth:3`, `nextmonth:thu#-2`,
    `d+N`), or a named day of `known`."""
    if spec in known:
        return known[spec]
    if re.fullmatch(r"\+\d+", spec):
        return today + timedelta(days=int(spec[1:]))
    kind, _, value = spec.partition(":")
    if kind == "next" and value in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS.index(value) - today.weekday()) % 7 or 7)
    if kind == "nextweek" and value in WEEKDAYS:
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + WEEKDAYS.index(value))
    if kind == "nextmonth":
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        last = calendar.monthrange(year, month)[1]
        if value.isdigit():
            return date(year, month, min(int(value), last))
        nth = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)#(-?[1-5])", value)
        if nth:
            weekday, count = WEEKDAYS.index(nth[1]), int(nth[2])
            matching = [d for d in range(1, last + 1) if date(year, month, d).weekday() == weekday]
            if -len(matching) <= count <= len(matching) and count != 0:
                return date(year, month, matching[count - 1 if count > 0 else count])
    relative = re.fullmatch(r"(\w+)([+-]\d+)", spec)
    if relative and relative[1] in known:
        return known[relative[1]] + timedelta(days=int(relative[2]))
    raise ValueError(f"unknown day spec {spec!r}")


# ---- placeholders ----


def render(text: str, days: Mapping[str, date], values: Mapping[str, str]) -> str:
    """`{name}`, `{phone}`, `{ref}`... from `values`; `{d:FORM}` from the named day `d`."""

    def one(match: re.Match[str]) -> str:
        name, _, form = match.group(1).partition(":")
        if name in values and not form:
            return values[name]
        if name not in days:
            raise ValueError(f"{match.group(0)} names no day or value of the script")
        return day_form(days[name], form or "iso")

    return re.sub(r"\{([a-z][a-z0-9_]*(?::[a-z]+)?)\}", one, text)


def day_form(day: date, form: str) -> str:
    suffix = "th" if 11 <= day.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    forms = {
        "iso": day.isoformat(),
        "ord": f"{day.day}{suffix}",
        "day": str(day.day),
        "weekday": f"{day:%A}",
        "wd": f"{day:%a}",
        "month": f"{day:%B}",
        "mon": f"{day:%b}",
        "md": f"{day.month}/{day.day}",
    }
    if form not in forms:
        raise ValueError(f"unknown day form {form!r}")
    return forms[form]


def spoken_phone(e164: str) -> str:
    """ "+16175550100" -> "617-555-0100", as a patient types a number; other countries as given."""
    if re.fullmatch(r"\+1\d{10}", e164):
        return f"{e164[2:5]}-{e164[5:8]}-{e164[8:]}"
    return e164


# ---- checks ----


def _plain(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def check_reply(checks: Checks, reply: str, chips: Sequence[str] | None) -> list[str]:
    """What the reply fails of `checks` (placeholders already filled in; empty: it passes). `chips`
    are the labels of the quick replies offered with it, or None on a channel without them (SMS:
    the text is checked instead)."""
    text = _plain(reply)
    filled = _plain

    problems = [f"the reply lacks {p!r}" for p in checks.has if filled(p) not in text]
    if checks.any and not any(filled(p) in text for p in checks.any):
        problems.append(f"the reply has none of {checks.any!r}")
    problems += [f"the reply says {p!r}" for p in checks.lacks if filled(p) in text]
    labels = [_plain(c) for c in chips] if chips is not None else None
    for chip in checks.chips:
        wanted = filled(chip)
        offered = any(label.startswith(wanted) for label in labels) if labels is not None else wanted in text
        if not offered:
            problems.append(f"no quick reply {chip!r}")
    if labels is not None:
        problems += [
            f"a quick reply {chip!r} is offered"
            for chip in checks.no_chips
            if any(label.startswith(filled(chip)) for label in labels)
        ]
    return problems


def check_bookings(
    expected: Sequence[BookingSpec],
    found: Sequence[Mapping[str, Any]],
    days: Mapping[str, date],
    today: date,
    timezone: str,
) -> list[str]:
    """`found` are the patient's bookings as `GET /api/v1/bookings` lists them; both sides compared
    as sets of (service, day and time in the tenant's `timezone`, status)."""
    zone = ZoneInfo(timezone)

    def key_of_found(item: Mapping[str, Any]) -> tuple[str, str, str, str]:
        local = datetime.fromisoformat(item["starts_at"]).astimezone(zone)
        return (item["service_name"], local.date().isoformat(), local.strftime("%H:%M"), item["status"])

    wanted = [(b.service, day_of(b.day, today, days).isoformat(), b.time, b.status) for b in expected]
    have = [key_of_found(item) for item in found]
    problems = [f"expected a booking {_describe(w)}" for w in wanted if w not in have]
    problems += [f"an unexpected booking {_describe(h)}" for h in have if h not in wanted]
    for spec in expected:
        if spec.provider is None:
            continue
        day = day_of(spec.day, today, days).isoformat()
        same = [i for i in found if key_of_found(i)[:3] == (spec.service, day, spec.time)]
        if same and all(i.get("provider_name") != spec.provider for i in same):
            problems.append(f"the {spec.service} on {day} is not with {spec.provider}")
    return problems


def _describe(key: tuple[str, str, str, str]) -> str:
    service, day, at, status = key
    weekday = date.fromisoformat(day).strftime("%a")
    return f"{service} on {weekday} {day} at {at} ({status})"
