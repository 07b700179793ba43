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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

import msgspec

from core.errors import DomainError, InvalidInput
from core.validation import FIRST_DAY, LAST_DAY, convert, error_of

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


# A real State Council notice lists every rest day of the holiday periods (22–33 a
# year for 2004–2026) and a few make-up Saturdays/Sundays (5–12). A file far outside
# that is a wrong file, and importing it would mark the year "official".
MIN_HOLIDAYS = 11  # the statutory holiday days alone (13 since 2025)
MAX_HOLIDAYS = 45
MAX_WORKDAYS = 15


class DayIn(msgspec.Struct, forbid_unknown_fields=True):
    date: date
    kind: DayKind
    name: Annotated[str, msgspec.Meta(max_length=63)] = ""


class CalendarFileIn(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[list[DayIn], msgspec.Meta(min_length=1, max_length=400)]
    year: int | None = None


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_calendar_file", message, field=field)


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad("file", f"文件不是 UTF-8 编码（第 {exc.start + 1} 个字节）。") from None
    if "\x00" in data:
        raise _bad("file", "文件中含有空字符（\\0），不是日历文本文件。")
    return data.lstrip("\ufeff")


def _from_json(text: str) -> tuple[int | None, list[tuple[str, DayIn]]]:
    try:
        doc = msgspec.json.decode(text, type=CalendarFileIn)
    except msgspec.ValidationError as exc:
        err = error_of(exc)
        if err.field is None:
            raise _bad(
                "file", f'JSON 需为 {{"year": 2027, "days": [...]}}：{err.message}'
            ) from None
        raise _bad(err.field, err.message) from None
    except (msgspec.DecodeError, RecursionError):
        raise _bad("file", 'JSON 格式错误，应为 {"year": 2027, "days": [...]}。') from None
    return doc.year, [(f"days[{i}]", d) for i, d in enumerate(doc.days)]


def _from_csv(text: str) -> list[tuple[str, DayIn]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    try:
        header = reader.fieldnames
        if header is None or {"date", "kind"} - set(header):
            raise _bad("header", "CSV 第一行须为表头 date,kind,name。")
        if extra := [c for c in header if c not in ("date", "kind", "name")]:
            raise _bad("header", f"CSV 表头只能有 date、kind、name，多出：{'、'.join(extra)}。")
        for i, row in enumerate(reader):
            where = f"第 {i + 2} 行"
            if None in row:
                raise _bad(where, f"{where}：列数多于表头。")
            try:
                day = convert({k: v.strip() for k, v in row.items() if v is not None}, DayIn)
            except DomainError as exc:
                raise _bad(f"{where}.{exc.field}", f"{where}：{exc.message}") from None
            rows.append((where, day))
    except csv.Error as exc:
        raise _bad("file", f"CSV 格式错误：{exc}。") from None
    return rows


def parse_calendar_import(
    data: str | bytes, fmt: Literal["csv", "json"]
) -> tuple[int, list[CalendarEntry]]:
    """Parse a year's State Council notice. See docs/calendar.md for the format."""
    text = _text(data)
    declared, rows = _from_json(text) if fmt == "json" else (None, _from_csv(text))
    if not rows:
        raise _bad("days", "文件中没有任何日期。")
    entries: list[CalendarEntry] = []
    seen: set[date] = set()
    for where, row in rows:
        day = row.date
        if day in seen:
            raise _bad(f"{where}.date", f"{where}：日期 {day} 重复出现。")
        if row.kind == "workday" and day.weekday() < 5:
            raise _bad(
                f"{where}.kind",
                f"{where}：{day} 本来就是工作日，调休上班（workday）只能是周六或周日。",
            )
        seen.add(day)
        entries.append(CalendarEntry(day, row.kind, row.name.strip()))
    years = {e.day.year for e in entries}
    if len(years) != 1:
        raise _bad("days", f"一个文件只能包含一个年份，发现：{sorted(years)}。")
    year = years.pop()
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise _bad("days", f"年份应在 {FIRST_DAY.year}–{LAST_DAY.year} 之间，文件中是 {year} 年。")
    if declared is not None and declared != year:
        raise _bad("year", f"year 为 {declared}，但日期属于 {year} 年。")
    holidays = sum(1 for e in entries if e.kind == "holiday")
    workdays = len(entries) - holidays
    if not MIN_HOLIDAYS <= holidays <= MAX_HOLIDAYS:
        raise _bad(
            "days",
            f"{year} 年有 {holidays} 个放假日（holiday）；国务院通知每年列出的放假日"
            f"应在 {MIN_HOLIDAYS}–{MAX_HOLIDAYS} 个之间（含法定节假日 11–13 天），"
            "请确认导入的是完整的全年通知。",
        )
    if workdays > MAX_WORKDAYS:
        raise _bad(
            "days",
            f"{year} 年有 {workdays} 个调休上班日（workday），超过 {MAX_WORKDAYS} 个，"
            "请确认文件内容。",
        )
    return year, sorted(entries, key=lambda e: e.day)
