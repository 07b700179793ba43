"""The official work calendar as a table (global): seeded from ``chinese-calendar``,
extended by importing a year's State Council notice."""

from __future__ import annotations

from datetime import datetime

from core.db.engine import global_tx
from core.db.tables import WorkCalendarDay, WorkCalendarYear
from core.domain.workcalendar import CalendarEntry, WorkCalendar, entries_from_chinese_calendar
from core.runtime import Runtime
from core.services import audit
from core.services.answers import CalendarDay, CalendarYear
from core.settings import TIMEZONE

SEED_YEARS = range(2004, 2027)


async def seed_calendar(rt: Runtime) -> list[int]:
    """Insert the years chinese-calendar knows and the table does not. Idempotent."""
    known = {r["year"] for r in await WorkCalendarYear.select(WorkCalendarYear.year)}
    missing = [y for y in SEED_YEARS if y not in known]
    for year in missing:
        await import_year(rt, year, entries_from_chinese_calendar(year), source="chinese-calendar")
    return missing


async def import_year(rt: Runtime, year: int, entries: list[CalendarEntry], *, source: str) -> None:
    """Replace one year's overrides and mark it known (no longer provisional)."""
    now = datetime.now(TIMEZONE)
    async with global_tx():
        await WorkCalendarDay.delete().where(
            (WorkCalendarDay.day >= datetime(year, 1, 1).date())
            & (WorkCalendarDay.day <= datetime(year, 12, 31).date())
        )
        if entries:
            await WorkCalendarDay.insert(
                *[WorkCalendarDay(day=e.day, kind=e.kind, name=e.name) for e in entries]
            )
        await WorkCalendarYear.delete().where(WorkCalendarYear.year == year)
        await WorkCalendarYear.insert(
            WorkCalendarYear(year=year, source=source[:200], imported_at=now)
        )
        await audit.append(
            rt,
            audit.DEPLOYMENT,
            "calendar.imported",
            target=f"calendar:{year}",
            detail={"source": source[:200], "days": len(entries)},
            at=now,
        )


async def load_calendar() -> WorkCalendar:
    days = await WorkCalendarDay.select(
        WorkCalendarDay.day, WorkCalendarDay.kind, WorkCalendarDay.name
    )
    years = await WorkCalendarYear.select(WorkCalendarYear.year)
    return WorkCalendar(
        (CalendarEntry(day=d["day"], kind=d["kind"], name=d["name"]) for d in days),
        known_years=[y["year"] for y in years],
    )


def calendar_year(cal: WorkCalendar, year: int) -> CalendarYear:
    """A year as shown to people: holidays and make-up working days, and whether the
    official notice for it has been imported."""
    days = sorted((d, e) for d, e in cal.entries.items() if d.year == year)
    return CalendarYear(
        year=year,
        provisional=year not in cal.known_years,
        holidays=[CalendarDay(d, e.name) for d, e in days if e.kind == "holiday"],
        makeup_workdays=[CalendarDay(d, e.name) for d, e in days if e.kind == "workday"],
    )
