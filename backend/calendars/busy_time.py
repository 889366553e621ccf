"""What an external event means for a provider's time: busy from when to when, or not at all.

Not busy: events marked free (TRANSP:TRANSPARENT, Google "transparent"), cancelled ones (a whole
event or one instance), invitations the provider declined, Google working-location markers, and
the events we wrote ourselves (they are our own appointments, already counted). All-day events and
floating times are read in the clinic's time zone; a TZID or an offset is honoured, across DST.

CalDAV events are kept as a "busy shape": the iCalendar text stripped to times, recurrence and the
flags above, with no title, description, location or people, so it can be expanded again as the
booking horizon moves without storing what the provider's meetings are about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Event

# Our events are written with this UID suffix (CalDAV) or this private property (Google).
OWN_UID_SUFFIX = "@frontdesk"
OWN_GOOGLE_PROPERTY = "frontdesk_appointment"

KEPT_PROPERTIES = (
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "TRANSP",
    "STATUS",
)
DECLINED = "X-FRONTDESK-DECLINED"

Range = tuple[datetime, datetime]


class UnreadableEvent(ValueError):
    """The calendar returned something that is not iCalendar; the sync skips it and says so."""


@dataclass(frozen=True)
class BusyShape:
    calendar: Calendar
    recurring: bool

    @property
    def text(self) -> str:
        return self.calendar.to_ical().decode()


def busy_shape(ics: str, account: str) -> BusyShape | None:
    """A CalDAV resource stripped to its busy shape; None when it holds no event that could be
    busy time (a task, our own booking)."""
    try:
        calendar = Calendar.from_ical(ics)
    except ValueError as error:
        raise UnreadableEvent(str(error)) from error
    shape = Calendar()
    shape.add("VERSION", "2.0")
    shape.add("PRODID", "-//Frontdesk//busy time//EN")
    recurring = False
    events = 0
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            shape.add_component(component)
        elif component.name == "VEVENT":
            if str(component.get("UID", "")).endswith(OWN_UID_SUFFIX):
                return None
            kept = Event()
            for name in KEPT_PROPERTIES:
                for value in _all(component, name):
                    kept.add(name, value)
            if _declined_by(component, account):
                kept.add(DECLINED, "TRUE")
            recurring = recurring or "RRULE" in component or "RDATE" in component
            shape.add_component(kept)
            events += 1
    return BusyShape(shape, recurring) if events else None


def expand(shape: Calendar | str, window: Range, tz: ZoneInfo) -> list[Range]:
    """The busy ranges of a busy shape (parsed, or as stored) inside `window`, in UTC."""
    calendar = Calendar.from_ical(shape) if isinstance(shape, str) else shape
    start, end = window
    ranges = []
    for instance in recurring_ical_events.of(calendar).between(start, end):
        if str(instance.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(instance.get("STATUS", "")).upper() == "CANCELLED" or DECLINED in instance:
            continue
        busy = _instance_range(instance, tz)
        if busy is not None and busy[0] < end and busy[1] > start:
            ranges.append(busy)
    return ranges


def google_range(event: dict[str, Any], tz: ZoneInfo) -> Range | None:
    """The busy range of one Google event instance (events.list with singleEvents), or None."""
    if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
        return None
    if event.get("eventType") == "workingLocation":
        return None
    if OWN_GOOGLE_PROPERTY in event.get("extendedProperties", {}).get("private", {}):
        return None
    if any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees", [])):
        return None
    start, end = event.get("start", {}), event.get("end", {})
    if "date" in start:
        first = date.fromisoformat(start["date"])
        last = date.fromisoformat(end["date"]) if "date" in end else first + timedelta(days=1)
        return _local_days(first, last, tz)
    if "dateTime" not in start or "dateTime" not in end:
        return None
    begins, ends = _parse_google_time(start, tz), _parse_google_time(end, tz)
    return (begins, ends) if ends > begins else None


def _parse_google_time(value: dict[str, str], tz: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(value["timeZone"]) if value.get("timeZone") else tz)
    return moment.astimezone(UTC)


def _instance_range(instance: Event, tz: ZoneInfo) -> Range | None:
    begins = instance.decoded("DTSTART")
    if "DTEND" in instance:
        ends = instance.decoded("DTEND")
    elif "DURATION" in instance:
        ends = begins + instance.decoded("DURATION")
    else:
        ends = begins + timedelta(days=1) if not isinstance(begins, datetime) else begins
    if not isinstance(begins, datetime):
        return _local_days(begins, ends if not isinstance(ends, datetime) else ends.date(), tz)
    begins, ends = _aware(begins, tz), _aware(ends, tz)
    return (begins, ends) if ends > begins else None


def _local_days(first: date, last: date, tz: ZoneInfo) -> Range | None:
    """An all-day event from `first` up to (not including) `last`, as the clinic's local days."""
    if last <= first:
        last = first + timedelta(days=1)
    return (
        datetime.combine(first, time.min, tzinfo=tz).astimezone(UTC),
        datetime.combine(last, time.min, tzinfo=tz).astimezone(UTC),
    )


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    """Floating times are the clinic's wall clock."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def _all(component: Event, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _declined_by(component: Event, account: str) -> bool:
    """The provider was invited and said no. Matched on the account's address or username."""
    wanted = account.strip().lower()
    for attendee in _all(component, "ATTENDEE"):
        address = str(attendee).lower().removeprefix("mailto:")
        declined = str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED"
        if declined and wanted in (address, address.split("@")[0]):
            return True
    return False
