"""The official working-day calendar with make-up working days (调休), pure.

A calendar is the weekend default plus overrides: ``holiday`` entries (statutory rest
days, including weekend days inside a holiday period, so they carry the holiday's name)
and ``workday`` entries (a Saturday or Sunday that is a working day). Years nobody
imported are *provisional*: weekends off, no holidays known — and every answer that
touches such a date says so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from core.errors import InvalidInput

DayKind = Literal["holiday", "workday"]
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class CalendarEntry:
    day: date
    kind: DayKind
    name: str = ""


class WorkCalendar:
    def __init__(self, entries: Iterable[CalendarEntry], known_years: Iterable[int]) -> None:
        self._entries: dict[date, CalendarEntry] = {e.day: e for e in entries}
        self._known = frozenset(known_years)

    @classmethod
    def from_chinese_calendar(cls, years: Iterable[int] = range(2004, 2027)) -> WorkCalendar:
        years = list(years)
        entries = [e for y in years for e in entries_from_chinese_calendar(y)]
        return cls(entries, years)

    @property
    def known_years(self) -> frozenset[int]:
        return self._known

    @property
    def entries(self) -> Mapping[date, CalendarEntry]:
        return self._entries

    def with_year(self, year: int, entries: Iterable[CalendarEntry]) -> WorkCalendar:
        kept = [e for d, e in self._entries.items() if d.year != year]
        return WorkCalendar([*kept, *entries], self._known | {year})

    def is_provisional(self, d: date) -> bool:
        return d.year not in self._known

    def is_workday(self, d: date) -> bool:
        entry = self._entries.get(d)
        if entry is not None:
            return entry.kind == "workday"
        return d.weekday() < 5

    def is_rest_day(self, d: date) -> bool:
        return not self.is_workday(d)

    def is_holiday(self, d: date) -> bool:
        entry = self._entries.get(d)
        return entry is not None and entry.kind == "holiday"

    def is_makeup_workday(self, d: date) -> bool:
        entry = self._entries.get(d)
        return entry is not None and entry.kind == "workday" and d.weekday() >= 5

    def next_workday(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def prev_workday(self, d: date) -> date:
        d -= timedelta(days=1)
        while not self.is_workday(d):
            d -= timedelta(days=1)
        return d

    def add_workdays(self, d: date, n: int) -> date:
        for _ in range(n):
            d = self.next_workday(d)
        return d

    def describe(self, d: date) -> str:
        entry = self._entries.get(d)
        parts = [WEEKDAY_ZH[d.weekday()]]
        if entry is not None and entry.name:
            parts.append(entry.name)
        if self.is_makeup_workday(d):
            if not (entry and "调休上班" in entry.name):
                parts.append("调休上班")
        else:
            parts.append("工作日" if self.is_workday(d) else "休息日")
        if self.is_provisional(d):
            parts.append("日历未导入，临时")
        return f"{d.isoformat()}（{'，'.join(parts)}）"


def entries_from_chinese_calendar(year: int) -> list[CalendarEntry]:
    """Overrides for ``year`` from the ``chinese-calendar`` package (2004–2026)."""
    import chinese_calendar as cc

    names = {h.value: h.chinese for h in cc.Holiday}
    entries: list[CalendarEntry] = []
    for day, name in sorted(cc.holidays.items()):
        if day.year == year:
            entries.append(CalendarEntry(day, "holiday", names.get(name, name)))
    for day, name in sorted(cc.workdays.items()):
        if day.year == year:
            entries.append(CalendarEntry(day, "workday", f"{names.get(name, name)}调休上班"))
    return sorted(entries, key=lambda e: e.day)


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_calendar_file", message, field=field)


def parse_calendar_import(
    text: str, fmt: Literal["csv", "json"]
) -> tuple[int, list[CalendarEntry]]:
    """Parse a year's State Council notice. See docs/calendar.md for the format."""
    rows: list[tuple[str, dict[str, Any]]] = []
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad("file", f"JSON 格式错误（第 {exc.lineno} 行）。") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("days"), list):
            raise _bad("days", 'JSON 需为 {"year": 2027, "days": [...]}。')
        rows = [(f"days[{i}]", r if isinstance(r, dict) else {}) for i, r in enumerate(doc["days"])]
        declared = doc.get("year")
    else:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        if reader.fieldnames is None or {"date", "kind"} - set(reader.fieldnames):
            raise _bad("header", "CSV 第一行须为表头 date,kind,name。")
        rows = [(f"第 {i + 2} 行", dict(r)) for i, r in enumerate(reader)]
        declared = None
    if not rows:
        raise _bad("days", "文件中没有任何日期。")
    entries: list[CalendarEntry] = []
    seen: set[date] = set()
    for where, row in rows:
        try:
            day = date.fromisoformat(str(row.get("date", "")).strip())
        except ValueError:
            raise _bad(f"{where}.date", f"{where}：日期应为 YYYY-MM-DD 格式。") from None
        kind = str(row.get("kind", "")).strip()
        if kind not in ("holiday", "workday"):
            raise _bad(
                f"{where}.kind", f"{where}：kind 只能是 holiday（放假）或 workday（调休上班）。"
            )
        if day in seen:
            raise _bad(f"{where}.date", f"{where}：日期 {day} 重复出现。")
        if kind == "workday" and day.weekday() < 5:
            raise _bad(
                f"{where}.kind",
                f"{where}：{day} 本来就是工作日，调休上班（workday）只能是周六或周日。",
            )
        seen.add(day)
        entries.append(CalendarEntry(day, kind, str(row.get("name") or "").strip()[:63]))  # type: ignore[arg-type]
    years = {e.day.year for e in entries}
    if len(years) != 1:
        raise _bad("days", f"一个文件只能包含一个年份，发现：{sorted(years)}。")
    year = years.pop()
    if declared is not None and declared != year:
        raise _bad("year", f"year 为 {declared}，但日期属于 {year} 年。")
    return year, sorted(entries, key=lambda e: e.day)
