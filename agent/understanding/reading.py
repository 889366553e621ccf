"""One structured reading of one message: everything it says, read at once.

`read(text, context)` is pure: the same text and context always give the same reading, so every
rule is unit-testable and the engine behaves the same on every channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from agent.understanding import catalogue, contact, intents
from agent.understanding.catalogue import Named, Person
from agent.understanding.dates import DayAsk, read_days
from agent.understanding.offers import Offered, pick_options
from agent.understanding.relative import Relative, read_relative
from agent.understanding.spelled import spelled_reference
from agent.understanding.text import blank, normalize
from agent.understanding.times import TimeAsk, read_time


@dataclass(frozen=True)
class Context:
    """What the reader may know besides the words: the day, the catalogue, what is on offer, and
    what the last reply asked for ("time", "name", "contact", "reference", "service", ...)."""

    today: date
    services: tuple[Named, ...] = ()
    providers: tuple[Person, ...] = ()
    offered: tuple[Offered, ...] = ()
    expecting: str | None = None
    profile: str = ""  # the kind of practice (healthcare, salon, ...): which services it may be asked for
    faq_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    text: str  # the message, normalized
    intents: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # best first; several when it is unclear which
    provider_id: str | None = None
    any_provider: bool = False
    days: DayAsk | None = None
    time: TimeAsk | None = None
    relative: Relative | None = None
    options: tuple[int, ...] = ()  # offered options pointed at: one chosen, or several narrowed
    shift: str | None = None  # none | other_days | later | earlier | more
    yes: bool = False
    no: bool = False
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    reference: str | None = None
    texts: bool | None = None  # agrees to (True) or declines (False) texts about the appointment
    first_free: bool = False  # "your first Wednesday morning slot": the first free time, held at once

    @property
    def service_id(self) -> str | None:
        return self.services[0] if len(self.services) == 1 else None

    @property
    def chosen(self) -> int | None:
        return self.options[0] if len(self.options) == 1 else None

    @property
    def says_when(self) -> bool:
        return (
            self.days is not None
            or (self.time is not None and self.time.said_anything)
            or bool(self.relative)
        )

    @property
    def changes_search(self) -> bool:
        """Whether it asks for something other than what is on the table: a day, a time, a service,
        a provider, or a move of the search."""
        return bool(self.says_when or self.services or self.provider_id or self.shift)

    @property
    def understood(self) -> bool:
        return bool(
            self.intents
            or self.changes_search
            or self.options
            or self.yes
            or self.no
            or self.name
            or self.phone
            or self.email
            or self.reference
            or self.texts is not None
        )


def read(text: str, context: Context) -> Reading:
    expecting = context.expecting
    message = normalize(text)
    email = contact.find_email(text)
    phone = contact.find_phone(text)
    reference = contact.find_reference(text, expecting=expecting == "reference")
    words = contact.strip_contact(message)
    if reference:
        words = re.sub(rf"\b{reference.lower()}\b", " " * len(reference), words)
    elif spelled := spelled_reference(words, expecting=expecting == "reference"):
        reference, span = spelled
        words = blank(words, [span])  # "... victor nine": not a time
    relative, relative_spans = read_relative(words)
    without_relative = blank(words, relative_spans)
    # "Anything later in the week?" with times on offer: later than those, in their week; not the
    # rest of this week from today (on a Saturday, only Sunday).
    in_their_week = intents.later_in_the_week(without_relative) if context.offered else None
    days, day_spans = read_days(
        blank(without_relative, [in_their_week] if in_their_week else []), context.today
    )
    without_days = blank(without_relative, day_spans)
    time, _ = read_time(without_days, expecting_time=expecting == "time")
    found_intents = tuple(intents.intents(blank(words, day_spans)))
    services = tuple(catalogue.match_services(words, context.services)) if context.services else ()
    provider = catalogue.match_provider(words, context.providers) if context.providers else None
    yes, no = intents.is_yes(message), intents.is_no(message)
    options = pick_options(without_relative, context.offered, days, time)
    says_else = bool(found_intents or yes or no or days or time or relative or services or options)
    name = contact.find_name(
        contact.strip_contact(text), expecting_name=expecting == "name", says_something_else=says_else
    )
    if name is not None and catalogue.match_services(name.lower(), context.services):
        name = None  # "it's for a cleaning": a service, not a name
    return Reading(
        text=message,
        intents=found_intents,
        services=services,
        provider_id=provider,
        any_provider=catalogue.any_provider(words),
        days=days,
        time=time,
        relative=relative,
        options=options,
        shift=None if options else "later_week" if in_their_week else intents.shift(without_days),
        yes=yes,
        no=no,
        name=name,
        phone=phone,
        email=email,
        reference=reference,
        texts=intents.texts(message),
    )
