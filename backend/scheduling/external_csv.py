"""A CSV export of the clinic's own system, read into appointment rows: the columns mapped to our
fields (guessed from the headings when not given), times without an offset read on the clinic's
wall clock, providers and services named by that system's id, our name or our id. Every problem is
reported with its line; a file that is not CSV at all is refused whole, before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.errors import ValidationFailed
from backend.scheduling import external_ids
from backend.scheduling.external_bulk import MAX_ROWS, Parsed, checked
from backend.scheduling.external_schemas import CsvField
from backend.scheduling.models import Provider, Service

# Headings each field is recognised by (lower case, without spaces, dashes or underscores).
HEADINGS: dict[CsvField, tuple[str, ...]] = {
    "external_id": ("externalid", "appointmentid", "apptid", "id", "bookingid", "reference"),
    "starts_at": ("startsat", "start", "starttime", "startdatetime", "begins", "datetime", "when"),
    "ends_at": ("endsat", "end", "endtime", "enddatetime", "finishes"),
    "duration_minutes": ("durationminutes", "duration", "minutes", "length"),
    "provider": ("provider", "providerid", "practitioner", "doctor", "dentist", "clinician", "staff"),
    "service": ("service", "serviceid", "appointmenttype", "type", "treatment", "reason"),
    "name": ("name", "patient", "patientname", "client", "clientname", "fullname"),
    "phone": ("phone", "mobile", "cell", "phonenumber", "mobilephone", "telephone"),
    "email": ("email", "emailaddress", "mail"),
    "status": ("status", "state"),
    "version": ("version", "revision"),
    "updated_at": ("updatedat", "updated", "lastmodified", "modified", "modifiedat"),
    "notes": ("notes", "note", "comments", "comment"),
}
STATUSES = {
    "booked": "booked",
    "scheduled": "booked",
    "pending": "booked",
    "confirmed": "confirmed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "completed": "completed",
    "attended": "completed",
    "arrived": "completed",
    "noshow": "no_show",
    "dna": "no_show",
    "missed": "no_show",
}
MONTH_FIRST_COUNTRIES = frozenset({"US", "CA", "PH", "FM", "PW", "MH"})
_CLOCKS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p")


@dataclass
class Catalogue:
    """How a CSV cell can name a provider or service: that system's id, our name, or our id; and
    the name of each, by what a row ends up naming it with."""

    providers: dict[str, tuple[str, str]] = field(default_factory=dict)
    services: dict[str, tuple[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


async def catalogue(session: AsyncSession, tenant: TenantContext, source: str) -> Catalogue:
    found = Catalogue()
    for model, kind, into in ((Provider, "provider", found.providers), (Service, "service", found.services)):
        rows = list(await session.execute(select(model.id, model.name).where(model.tenant_id == tenant.id)))
        mapped = await external_ids.of(session, tenant, kind, [i for i, _ in rows])  # type: ignore[arg-type]
        for our_id, name in rows:
            into[str(our_id).lower()] = into[name.strip().lower()] = (f"{kind}_id", str(our_id))
            found.names[str(our_id)] = name
            theirs = mapped.get(our_id, {}).get(source)
            if theirs is not None:
                into[theirs.lower()] = (f"{kind}_external_id", theirs)
                found.names[theirs] = name
    return found


@dataclass(frozen=True)
class CsvFile:
    columns: list[str]
    mapping: dict[str, str]
    rows: list[Parsed]


def read(
    text: str,
    source: str,
    mapping: dict[str, str] | None,
    tenant: TenantContext,
    names: Catalogue,
    now: datetime,
    date_order: str | None = None,
) -> CsvFile:
    """Every data line of the file as a row to import (or its errors), numbered by its line."""
    text = text.removeprefix("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment] - one column, or nothing to tell by: commas
    reader = csv.reader(io.StringIO(text), dialect, strict=True)
    try:
        lines = [(reader.line_num, cells) for cells in reader]
    except csv.Error as error:
        raise ValidationFailed("csv", f"line {reader.line_num + 1} is not valid CSV: {error}") from error
    lines = [(n, cells) for n, cells in lines if any(c.strip() for c in cells)]
    if not lines:
        raise ValidationFailed("csv", "the file is empty")
    columns = [c.strip() for c in lines[0][1]]
    if len(set(columns)) != len(columns) or not all(columns):
        raise ValidationFailed("csv", "the first line must name every column, each once")
    if len(lines) - 1 > MAX_ROWS:
        raise ValidationFailed("csv", f"{len(lines) - 1:,} rows: import at most {MAX_ROWS:,} at a time")
    chosen = _mapping(columns, mapping)
    month_first = (date_order or _date_order(tenant)) == "month_first"
    reading = _Reader(source, chosen, tenant, names, now, month_first)
    rows, seen = [], {}
    for line, cells in lines[1:]:
        row = reading.row(line, dict(zip(columns, cells, strict=False)), len(cells) - len(columns))
        if row.external_id is not None and row.error is None:
            if row.external_id in seen:
                row = Parsed(
                    line, error=ValidationFailed("external_id", f"repeats line {seen[row.external_id]}")
                )
            seen.setdefault(row.external_id or "", line)
        rows.append(row)
    return CsvFile(columns, chosen, rows)


def suggest(columns: list[str]) -> dict[str, str]:
    """Field -> column, from the headings."""
    keys = {re.sub(r"[\s_\-./]", "", c.lower()): c for c in columns}
    return {
        f: next(keys[k] for k in names if k in keys)
        for f, names in HEADINGS.items()
        if keys.keys() & set(names)
    }


def _mapping(columns: list[str], given: dict[str, str] | None) -> dict[str, str]:
    chosen = suggest(columns) if given is None else {f: c for f, c in given.items() if c}
    unknown = sorted(set(chosen.values()) - set(columns))
    if unknown:
        raise ValidationFailed("mapping", f"no column called {unknown[0]!r} in the file")
    missing = [f for f in ("external_id", "starts_at", "provider", "name") if f not in chosen]
    if "ends_at" not in chosen and "duration_minutes" not in chosen:
        missing.append("ends_at or duration_minutes")
    if missing:
        raise ValidationFailed("mapping", f"choose the column for {', '.join(missing)}")
    return chosen


def _date_order(tenant: TenantContext) -> str:
    return "month_first" if tenant.settings.default_country in MONTH_FIRST_COUNTRIES else "day_first"


@dataclass(frozen=True)
class _Reader:
    source: str
    mapping: dict[str, str]
    tenant: TenantContext
    names: Catalogue
    now: datetime
    month_first: bool

    def row(self, line: int, cells: dict[str, str], extra: int) -> Parsed:
        if extra:
            word = "more" if extra > 0 else "fewer"
            return Parsed(
                line, error=ValidationFailed("csv", f"line {line} has {abs(extra)} {word} cells than columns")
            )
        get = {f: (cells.get(c) or "").strip() for f, c in self.mapping.items()}
        problems: list[tuple[str, str]] = []
        row: dict[str, object] = {"source": self.source, "external_id": get.get("external_id") or None}
        starts = self._moment(get, "starts_at", problems)
        row["starts_at"], row["ends_at"] = starts, self._end(get, starts, problems)
        for kind, names in (("provider", self.names.providers), ("service", self.names.services)):
            if get.get(kind):
                named = names.get(get[kind].lower())
                if named is None:
                    problems.append((kind, f"no {kind} {get[kind]!r}: use its name, or map its id once"))
                else:
                    row[named[0]] = named[1]
        status = re.sub(r"[\s_\-]", "", get.get("status", "").lower()) or "booked"
        if status not in STATUSES:
            problems.append(("status", f"{get['status']!r} is not a status: booked, confirmed, cancelled, …"))
        row["status"] = STATUSES.get(status, "booked")
        if get.get("version"):
            row["version"] = get["version"]
        elif get.get("updated_at"):
            row["updated_at"] = self._moment(get, "updated_at", problems)
        else:
            row["updated_at"] = self.now  # no version in the file: this import is its latest word
        row["customer"] = {k: get[k] for k in ("name", "phone", "email") if get.get(k)}
        row["notes"] = get.get("notes", "")
        parsed = checked(line, row)
        if not problems:
            return parsed
        # Ours first (they name the cell); the model's only for fields ours did not already cover.
        covered = {f for f, _ in problems} | ({"ends_at"} if "starts_at" in dict(problems) else set())
        theirs = parsed.error.details["errors"] if parsed.error is not None else []
        errors = [{"field": f, "message": m} for f, m in problems]
        errors += [e for e in theirs if e["field"].split(".")[0] not in covered]
        error = ValidationFailed(errors[0]["field"], errors[0]["message"])
        error.details = {"errors": errors}
        return Parsed(line, error=error, source=self.source, external_id=get.get("external_id") or None)

    def _moment(self, get: dict[str, str], name: str, problems: list[tuple[str, str]]) -> datetime | None:
        value = get.get(name, "")
        if not value:
            problems.append((name, "empty"))
            return None
        try:
            return parse_moment(value, self.tenant.timezone, self.month_first)
        except ValueError as error:
            problems.append((name, str(error)))
            return None

    def _end(
        self, get: dict[str, str], starts: datetime | None, problems: list[tuple[str, str]]
    ) -> datetime | None:
        if starts is None:
            return None
        if get.get("ends_at"):
            clock = _clock(get["ends_at"])
            if clock is None:
                return self._moment(get, "ends_at", problems)
            tz = self.tenant.timezone
            try:  # "10:30": the same day as the start
                return _local(datetime.combine(starts.astimezone(tz).date(), clock), tz)
            except ValueError as error:
                problems.append(("ends_at", str(error)))
                return None
        minutes = get.get("duration_minutes", "")
        if not minutes.isdigit() or not 1 <= int(minutes) <= 24 * 60:
            problems.append(("duration_minutes", f"{minutes!r} is not a number of minutes"))
            return None
        return starts + timedelta(minutes=int(minutes))


def parse_moment(value: str, tz: ZoneInfo, month_first: bool) -> datetime:
    """An ISO 8601 time or a slashed date and a clock ("12/03/2027 2:30 PM"); without an offset, on
    the clinic's wall clock (a time the clocks skip, or pass twice, is refused: it needs an offset)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _slashed(value, month_first)
    return moment if moment.tzinfo is not None else _local(moment, tz)


def _slashed(value: str, month_first: bool) -> datetime:
    day_part, _, clock_part = value.strip().partition(" ")
    numbers = day_part.replace("-", "/").replace(".", "/").split("/")
    clock = _clock(clock_part)
    if len(numbers) != 3 or not all(n.isdigit() for n in numbers) or clock is None:
        raise ValueError(f"{value!r} is not a date and time (write 2027-03-12 14:30)")
    first, second, year = (int(n) for n in numbers)
    if year < 100:
        year += 2000
    month, day = (first, second) if month_first else (second, first)
    try:
        return datetime.combine(date(year, month, day), clock)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a date: {error}") from error


def _clock(value: str) -> time | None:
    text = value.strip().upper().replace(".", "")
    for pattern in _CLOCKS:
        try:
            return datetime.strptime(text, pattern).time()
        except ValueError:
            continue
    return None


def _local(naive: datetime, tz: ZoneInfo) -> datetime:
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist on the clinic's clock (the clocks skip it)")
    raise ValueError(f"{naive:%Y-%m-%d %H:%M} happens twice on the clinic's clock: give its UTC offset")
