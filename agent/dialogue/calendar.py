"""The practice's week as the receptionist says it: which days it is closed (weekly, or for a closure
with its reason), its hours on a day, and the nearest open days to one it is closed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.ports import DayHours, PracticeInfo

LOOK_AHEAD_DAYS = 60


def clock(moment: time) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


class Calendar:
    def __init__(self, practice: PracticeInfo) -> None:
        self.practice = practice
        self.zone = ZoneInfo(practice.timezone)

    def weekly(self, day: date) -> DayHours | None:
        """The weekly hours of that weekday; None when the practice's week is not known."""
        return self.practice.week[day.weekday()] if self.practice.week else None

    def closure(self, day: date) -> str | None:
        """The reason of a closure that covers the day's opening hours ("" when it gives none)."""
        hours = self.weekly(day) or ((time(0), time(23, 59)),)
        opens = datetime.combine(day, hours[0][0], tzinfo=self.zone)
        closes = datetime.combine(day, hours[-1][1], tzinfo=self.zone)
        for closure in self.practice.closures:
            if closure.starts_at <= opens and closure.ends_at >= closes:
                return closure.reason
        return None

    def closed(self, day: date) -> bool:
        weekly = self.weekly(day)
        return weekly == () or self.closure(day) is not None

    def hours_on(self, day: date) -> DayHours:
        return () if self.closed(day) else (self.weekly(day) or ())

    def open_at(self, day: date, moment: time, minutes: int) -> bool:
        """Whether a visit of `minutes` starting at `moment` fits the day's opening hours."""
        weekly = self.weekly(day)
        if weekly is None:
            return True
        start = moment.hour * 60 + moment.minute
        return any(
            a.hour * 60 + a.minute <= start and start + minutes <= b.hour * 60 + b.minute for a, b in weekly
        )

    def hours_text(self, day: date) -> str:
        """ "9:00 AM-12:00 PM and 1:00 PM-5:00 PM"."""
        return " and ".join(f"{clock(a)}-{clock(b)}" for a, b in self.hours_on(day))

    def why_closed(self, days: list[date]) -> str:
        """ "We're closed on Sundays." / "We're closed on Saturdays and Sundays." / "We're closed on
        Wednesday, March 11 (staff training)." """
        weekly = sorted({d.weekday() for d in days if self.weekly(d) == ()})
        said = []
        if weekly:
            said.append(" and ".join(f"{date(2024, 1, 1 + w):%A}s" for w in weekly))
        for day in days:
            if self.weekly(day) != () and self.closure(day) is not None:
                reason = self.closure(day)
                said.append(f"{day:%A, %B} {day.day}" + (f" ({reason})" if reason else ""))
        return f"We're closed on {' and '.join(said)}." if said else ""

    def open_days_near(self, day: date, today: date) -> tuple[date | None, date | None]:
        """The nearest open day before `day` (not before today) and after it."""
        before = after = None
        for step in range(1, LOOK_AHEAD_DAYS):
            earlier = day - timedelta(days=step)
            if before is None and earlier >= today and not self.closed(earlier):
                before = earlier
            later = day + timedelta(days=step)
            if after is None and not self.closed(later):
                after = later
            if after is not None and (before is not None or earlier < today):
                break
        return before, after

    def next_open(self, day: date) -> date:
        """`day` if the practice is open then, else the next day it is."""
        for step in range(LOOK_AHEAD_DAYS):
            candidate = day + timedelta(days=step)
            if not self.closed(candidate):
                return candidate
        return day
