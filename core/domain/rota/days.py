"""Which days of a window carry a reception of a template: the pattern's days, rest days
moved or skipped per the holiday policy (with the note that says why). Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from core.domain.rota.model import (
    HolidayPolicy,
    RotaCalendar,
    RotaTemplate,
    SkippedDay,
)
from core.errors import InvalidInput

_DayPredicate = Callable[[date], bool]
# A holiday block plus surrounding weekends is < 3 weeks; this only stops a broken calendar
# (e.g. one that never has a working day) from looping forever.
_MAX_SEARCH_DAYS = 366


@dataclass(frozen=True)
class DayPlan:
    day: date
    original_day: date | None
    note_zh: str


def plan_days(
    template: RotaTemplate, calendar: RotaCalendar, start: date, end: date
) -> tuple[list[DayPlan], list[SkippedDay]]:
    def usable(d: date) -> bool:
        return calendar.is_workday(d) and (
            template.makeup_workdays or not calendar.is_makeup_workday(d)
        )

    if template.pattern == "every_workday":
        return [DayPlan(d, None, "") for d in _days(start, end) if usable(d)], []

    policy = template.holiday_policy
    # A rest-day candidate outside the window can be moved into it, and vice versa: scan
    # far enough that the slots of a day depend only on the calendar, never on where the
    # window boundaries fall (expanding [a, c] == [a, b] then (b, c]).
    lo, hi = start, end
    if policy == "next_workday":
        lo = _walk(lo, -1, lambda d: not usable(d))
    if policy == "previous_workday":
        hi = _walk(hi, 1, lambda d: not usable(d))

    # target day -> candidates moved (or not) onto it
    by_target: dict[date, list[date]] = {}
    skipped: list[SkippedDay] = []
    for cand in _days(lo, hi):
        if cand.weekday() not in template.weekdays:
            continue
        if calendar.is_workday(cand) or policy == "keep":
            target = cand
        elif policy == "skip":
            if start <= cand <= end:
                skipped.append(
                    SkippedDay(
                        template.key,
                        cand,
                        "holiday_skipped",
                        None,
                        f"原定 {cand} 为{_rest_reason(calendar, cand)}，本次接待取消",
                    )
                )
            continue
        else:
            target = _move(calendar, usable, cand, policy)
        by_target.setdefault(target, []).append(cand)

    plans: list[DayPlan] = []
    for target in sorted(by_target):
        cands = by_target[target]
        winner = target if target in cands else min(cands)
        inside = start <= target <= end
        for cand in cands:
            if not start <= cand <= end:
                continue
            moved = _move_text(calendar, cand, target, policy)
            if not inside and cand == winner:
                skipped.append(
                    SkippedDay(
                        template.key,
                        cand,
                        "outside_range",
                        target,
                        f"{moved}，该日不在本次排班范围（{start} 至 {end}）内，"
                        "由覆盖该日的排班生成",
                    )
                )
            elif cand != winner:
                skipped.append(
                    SkippedDay(
                        template.key,
                        cand,
                        "merged",
                        target,
                        f"{moved}，该日已有本排班接待，不另设",
                    )
                )
        if inside:
            unchanged = winner == target and calendar.is_workday(target)
            note = "" if unchanged else _move_text(calendar, winner, target, policy)
            plans.append(DayPlan(target, None if winner == target else winner, note))
    skipped.sort(key=lambda s: s.original_day)
    return plans, skipped


def _move(calendar: RotaCalendar, usable: _DayPredicate, cand: date, policy: HolidayPolicy) -> date:
    step = calendar.next_workday if policy == "next_workday" else calendar.prev_workday
    d = step(cand)
    for _ in range(_MAX_SEARCH_DAYS):
        if usable(d):
            return d
        d = step(d)
    raise InvalidInput(
        "no_workday_found",
        f"{cand} 前后一年内找不到可用的工作日，请检查工作日历。",
        field="calendar",
    )


def _move_text(calendar: RotaCalendar, cand: date, target: date, policy: HolidayPolicy) -> str:
    reason = _rest_reason(calendar, cand)
    if cand == target:
        return f"{cand} 为{reason}，按排班设置照常接待"
    verb = "顺延至" if policy == "next_workday" else "提前至"
    return f"原定 {cand} 为{reason}，{verb} {target}"


_WEEKDAY_ZH = frozenset({"周一", "周二", "周三", "周四", "周五", "周六", "周日"})
_NOT_A_REASON = _WEEKDAY_ZH | {"日历未导入", "临时"}


def _rest_reason(calendar: RotaCalendar, d: date) -> str:
    """Why ``d`` is a rest day, e.g. "国庆节休息日", from the calendar's description
    ("2026-10-05（周一，国庆节，休息日）") without the date and weekday the note repeats."""
    text = calendar.describe(d)
    if "（" in text and text.endswith("）"):
        text = text[text.index("（") + 1 : -1]
    parts = [p for p in text.split("，") if p and p not in _NOT_A_REASON]
    return "".join(parts) or "休息日"


def _walk(d: date, step: int, keep_going: _DayPredicate) -> date:
    """Move from ``d`` by ``step`` while the next day satisfies ``keep_going``."""
    for _ in range(_MAX_SEARCH_DAYS):
        nxt = d + timedelta(days=step)
        if not keep_going(nxt):
            return d
        d = nxt
    return d


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)
