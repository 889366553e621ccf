"""Running conversation scripts against a clinic over its API (docs/conversation-scripts.md).

On a clinic that is in use (`frontdesk converse` against a tenant), scripts run one after another:
what a script books, and what it set up, is cancelled after it, and the patient's bookings it is
judged on are the ones it made or set up, never those already there. On fresh clinics (one made
from the script's `clinic` for each script), scripts may run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import ValidationError

from backend.converse.clinic import STANDING, Clinic, ClinicProblem
from backend.converse.script import (
    Checks,
    Patient,
    Script,
    check_bookings,
    check_reply,
    day_of,
    load,
    render,
    resolve_days,
    spoken_phone,
)
from backend.converse.talk import ChatFailed, SmsTalker, Talker, WebTalker


@dataclass(frozen=True)
class Case:
    """A script with what its file gives it: the patient, the clinic to make for it, its file."""

    script: Script
    patient: Patient
    clinic: Mapping[str, Any] | None
    file: str


@dataclass
class Outcome:
    case: Case
    problems: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SmsLine:
    """What texting a clinic takes: the token Twilio signs with (None: the server checks no
    signatures, as in local development), and the URL the server knows itself by."""

    auth_token: str | None
    public_url: str


def read_cases(paths: Sequence[Path]) -> list[Case]:
    """Every script of the files (a directory: its `*.yaml` and `*.json` files, except the `clinic-*`
    files scripts name as their clinic). A file that is not a script file is a ValueError."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted([*path.glob("*.yaml"), *path.glob("*.yml"), *path.glob("*.json")])
            files += [f for f in found if not f.name.startswith("clinic-")]
        else:
            files.append(path)
    cases = []
    for path in files:
        try:
            loaded = load(path)
        except (OSError, ValueError, ValidationError) as error:
            raise ValueError(f"{path}: {error}") from error
        cases += [Case(s, loaded.patient, s.clinic or loaded.clinic, str(path)) for s in loaded.scripts]
    return cases


async def run_case(
    case: Case,
    clinic: Clinic,
    *,
    shared: bool,
    sms: SmsLine | None = None,
    keep: bool = False,
    talker: Talker | None = None,
) -> Outcome:
    """One script on `clinic`. `shared`: the clinic is in use, so judge only what this script made
    and cancel it afterwards (unless `keep`). `talker` speaks for the patient instead of the chat
    API or a text to the clinic's number (a test's phone, for instance)."""
    outcome = Outcome(case)
    script, patient = case.script, case.patient
    today = datetime.now(ZoneInfo(clinic.timezone)).date()
    # With a publishable key only, the replies are all there is to check.
    reads_bookings = clinic.secret is not None
    made: list[str] = []
    mine: list[dict[str, Any]] = []
    try:
        days = resolve_days(script.days, today)
        values = {"name": patient.name, "phone": spoken_phone(patient.phone)}
        earlier = {b["id"] for b in await clinic.bookings(today)} if shared and reads_bookings else set()
        await _set_up(case, clinic, today, days, values, made)
        try:
            await _converse(outcome, talker or _talker(case, clinic, sms), days, values)
        finally:
            if reads_bookings:
                found = [b for b in await clinic.bookings(today) if _patients(b, patient)]
                mine = [b for b in found if b["id"] not in earlier or b["id"] in made]
                made += [b["id"] for b in mine]
        if script.expect.bookings is not None:
            if not reads_bookings:
                raise ClinicProblem("the bookings were not checked: that needs the clinic's secret key")
            outcome.problems += check_bookings(script.expect.bookings, mine, days, today, clinic.timezone)
    except (ClinicProblem, ChatFailed, ValueError) as problem:
        outcome.problems.append(str(problem))
    except httpx.HTTPError as broken:
        outcome.problems.append(f"the server could not be reached: {broken!r}")
    if shared and not keep:
        await _tidy_up(outcome, clinic, today, made)
    return outcome


def _talker(case: Case, clinic: Clinic, sms: SmsLine | None) -> Talker:
    if case.script.channel == "web":
        return WebTalker(clinic)
    if sms is None:
        raise ChatFailed("an SMS script needs to know how to reach the server as Twilio does")
    return SmsTalker(clinic, case.patient.phone, sms.auth_token, sms.public_url)


async def _set_up(
    case: Case,
    clinic: Clinic,
    today: date,
    days: Mapping[str, date],
    values: dict[str, str],
    made: list[str],
) -> None:
    before = case.script.before
    for index, other in enumerate(before.taken):
        customer = {"name": f"Other Patient {index + 1}", "email": f"other{index + 1}@example.com"}
        made.append((await clinic.book(other, day_of(other.day, today, days), customer))["id"])
    patient = case.patient
    for index, own in enumerate(before.existing):
        customer = {"name": patient.name, "phone": patient.phone}
        booked = await clinic.book(own, day_of(own.day, today, days), customer)
        made.append(booked["id"])
        values["ref" if index == 0 else f"ref{index + 1}"] = booked["reference"]


async def _converse(
    outcome: Outcome, talker: Talker, days: Mapping[str, date], values: Mapping[str, str]
) -> None:
    script = outcome.case.script
    for line in script.say:
        said = render(line.text, days, values)
        try:
            heard = await talker.say(said)
        except ChatFailed as broken:
            outcome.transcript.append((said, f"({broken})"))
            raise ChatFailed(f"after {said!r}: {broken}") from broken
        if outcome.transcript and heard.text == outcome.transcript[-1][1]:
            outcome.problems.append(f"the same reply repeated after {said!r}")
        outcome.transcript.append((said, heard.text))
        for checks in (line.expect, script.replies):
            if checks is not None:
                filled = _filled(checks, days, values)
                outcome.problems += [
                    f"after {said!r}: {p}" for p in check_reply(filled, heard.text, heard.chips)
                ]


def _filled(checks: Checks, days: Mapping[str, date], values: Mapping[str, str]) -> Checks:
    return Checks(
        **{name: [render(p, days, values) for p in getattr(checks, name)] for name in Checks.model_fields}
    )


def _patients(booking: Mapping[str, Any], patient: Patient) -> bool:
    customer = booking.get("customer") or {}
    return customer.get("name") == patient.name or customer.get("phone") == patient.phone


async def _tidy_up(outcome: Outcome, clinic: Clinic, today: date, made: list[str]) -> None:
    """Cancel what the script booked and set up, so the next script finds the clinic as it was."""
    try:
        if clinic.secret is None:
            return
        for booking in await clinic.bookings(today):
            if booking["id"] in made and booking["status"] in STANDING:
                await clinic.cancel(booking["id"])
    except (ClinicProblem, httpx.HTTPError) as problem:
        outcome.problems.append(f"tidying up: {problem}")


OpenClinic = Callable[[Case], Awaitable[Clinic]]


async def run_all(
    cases: Sequence[Case],
    open_clinic: OpenClinic,
    *,
    shared: bool,
    parallel: int = 1,
    sms: SmsLine | None = None,
    keep: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Every case, each on the clinic `open_clinic` gives it (the same one when `shared`: then one at
    a time, whatever `parallel` says), in the order given."""
    gate = asyncio.Semaphore(1 if shared else max(1, parallel))

    async def one(case: Case) -> Outcome:
        async with gate:
            try:
                clinic = await open_clinic(case)
                if case.script.channel == "sms" and clinic.number is None and not shared:
                    await give_number(clinic)
            except (ClinicProblem, httpx.HTTPError) as problem:
                outcome = Outcome(case, [f"could not open the clinic: {problem}"])
            else:
                outcome = await run_case(case, clinic, shared=shared, sms=sms, keep=keep)
                if not shared:
                    with contextlib.suppress(ClinicProblem, httpx.HTTPError):
                        await clinic.close()  # a clinic of its own: its key is the run's to revoke
            on_outcome(outcome)
            return outcome

    return list(await asyncio.gather(*(one(case) for case in cases)))


async def give_number(clinic: Clinic) -> None:
    """A fresh clinic's own number to text (an exchange may not start with 0 or 1)."""
    number = f"+1646{2_000_000 + uuid.uuid4().int % 8_000_000}"
    await clinic.call("POST", "/api/v1/phone-numbers", 201, json={"number": number, "label": "converse"})
    clinic.number = number
