"""Statutory deadline computation with a step-by-step explanation, pure.

Calendar days follow the civil-procedure convention: the start day is not counted, and
a last day that falls on a rest day moves to the next working day. Working days count
only days the official calendar (with 调休) marks as working. Paused periods (hearing,
appraisal) are inclusive date ranges whose days are not counted. Any day touched in a
year without an imported calendar makes the result *provisional*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar
from core.errors import InvalidInput
from core.validation import FIRST_DAY, LAST_DAY, check_day

Pause = tuple[date, date]
MAX_DAYS = 3660  # no statutory clock is longer than ten years; guards bad pack data


@dataclass(frozen=True)
class Deadline:
    clock: str
    start: date
    due: date
    days: int
    mode: str
    pack: str
    version: str
    provisional: bool
    steps: tuple[str, ...]
    pauses: tuple[Pause, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "start": self.start.isoformat(),
            "due": self.due.isoformat(),
            "days": self.days,
            "mode": self.mode,
            "provisional": self.provisional,
            "pack": self.pack,
            "version": self.version,
            "pauses": [[a.isoformat(), b.isoformat()] for a, b in self.pauses],
            "steps": list(self.steps),
        }


def parse_pause(text: str) -> Pause:
    """``2026-09-20:2026-09-22`` → inclusive range; raises a field-named error otherwise."""
    try:
        a, b = text.split(":")
        pause = (date.fromisoformat(a.strip()), date.fromisoformat(b.strip()))
    except ValueError:
        raise InvalidInput(
            "invalid_pause", f"暂停区间 {text!r} 应为 YYYY-MM-DD:YYYY-MM-DD。", field="paused"
        ) from None
    return check_pause(pause)


def check_pause(pause: Pause) -> Pause:
    for day in pause:
        check_day(day, FIRST_DAY, LAST_DAY, field="paused", what="暂停区间的日期")
    if pause[1] < pause[0]:
        raise InvalidInput(
            "invalid_pause",
            f"暂停区间 {pause[0]}:{pause[1]} 的结束日早于开始日。",
            field="paused",
        )
    return pause


def _merge(pauses: Iterable[Pause]) -> list[Pause]:
    merged: list[Pause] = []
    for a, b in sorted(check_pause(p) for p in pauses):
        if merged and a <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def compute_deadline(
    pack: RulePack,
    clock: str,
    start: date,
    calendar: WorkCalendar,
    pauses: Sequence[Pause] = (),
    days: int | None = None,
) -> Deadline:
    """The due date of ``clock`` started on ``start``.

    ``days`` overrides the pack's number (an approved extension shorter than the
    maximum); the counting mode always comes from the pack.
    """
    check_day(start, FIRST_DAY, LAST_DAY, field="start", what="起算日")
    rule = pack.clock(clock)
    n = rule.days if days is None else days
    if not 0 < n <= MAX_DAYS:
        raise InvalidInput("invalid_days", f"期限天数 {n} 超出范围。", field="days")
    merged = _merge(pauses)
    paused = {a + timedelta(days=i) for a, b in merged for i in range((b - a).days + 1)}
    basis = f"（{rule.basis}）" if rule.basis else ""
    steps: list[str] = [
        f"规则包 {pack.name} 版本 {pack.version}：{rule.title_zh}期限为 {n} 个{rule.mode_zh}{basis}。",
    ]
    if rule.mode == "months":
        return _months(pack, rule.title_zh, clock, start, n, calendar, merged, paused, steps)
    steps += [f"起算日 {calendar.describe(start)}当日不计入，自次日起算。"]
    for a, b in merged:
        if b <= start:
            steps.append(f"暂停 {a}～{b} 在起算日之前，不影响期限。")
        else:
            count = (b - max(a, start + timedelta(days=1))).days + 1
            steps.append(f"暂停 {a}～{b}（听证、鉴定等）共 {count} 日不计入期限。")

    touched_provisional = calendar.is_provisional(start)
    day = start
    counted = 0
    skipped_rest = 0
    skipped_pause = 0
    while counted < n:
        day += timedelta(days=1)
        touched_provisional |= calendar.is_provisional(day)
        if day in paused:
            skipped_pause += 1
            continue
        if rule.mode == "working" and not calendar.is_workday(day):
            skipped_rest += 1
            continue
        counted += 1
    if rule.mode == "working":
        steps.append(
            f"按官方工作日历（含调休上班日）逐日计算，跳过休息日 {skipped_rest} 日，"
            f"第 {n} 个工作日为 {calendar.describe(day)}。"
        )
    else:
        extra = f"（另有暂停 {skipped_pause} 日不计）" if skipped_pause else ""
        steps.append(f"第 {n} 日{extra}为 {calendar.describe(day)}。")
        if calendar.is_rest_day(day):
            moved = calendar.next_workday(day)
            for d in _days_between(day, moved):
                touched_provisional |= calendar.is_provisional(d)
            steps.append(
                f"期间最后一日为休息日，顺延至其后的第一个工作日 {calendar.describe(moved)}。"
            )
            day = moved
    if touched_provisional:
        years = sorted(
            {y for y in range(start.year, day.year + 1) if y not in calendar.known_years}
        )
        steps.append(
            f"{'、'.join(map(str, years))} 年工作日历尚未导入，暂按周末休息、无法定节假日计算，"
            "结果为临时期限；导入日历后将重新计算。"
        )
    steps.append(f"期限届满日：{day.isoformat()}。")
    return Deadline(
        clock=clock,
        start=start,
        due=day,
        days=n,
        mode=rule.mode,
        pack=pack.name,
        version=pack.version,
        provisional=touched_provisional,
        steps=tuple(steps),
        pauses=tuple(merged),
    )


def _days_between(a: date, b: date) -> Iterable[date]:
    d = a
    while d <= b:
        yield d
        d += timedelta(days=1)


def add_months(d: date, n: int) -> date:
    """The corresponding day ``n`` months later; the month's last day when it has none
    (民事诉讼法: 期间以月计算，到期月无对应日的以该月末日为届满日)."""
    month = d.month - 1 + n
    year, month = d.year + month // 12, month % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def _months(
    pack: RulePack,
    title: str,
    clock: str,
    start: date,
    n: int,
    calendar: WorkCalendar,
    merged: list[Pause],
    paused: set[date],
    steps: list[str],
) -> Deadline:
    steps[0] = f"规则包 {pack.name} 版本 {pack.version}：{title}期限为 {n} 个月。"
    due = add_months(start, n)
    steps.append(f"自 {start} 起算 {n} 个月，到期月的对应日为 {calendar.describe(due)}。")
    counted: set[date] = set()
    while True:
        extra = {p for p in paused if start < p <= due} - counted
        if not extra:
            break
        counted |= extra
        due += timedelta(days=len(extra))
    if counted:
        steps.append(f"暂停期间共 {len(counted)} 日不计入，顺延至 {calendar.describe(due)}。")
    if calendar.is_rest_day(due):
        moved = calendar.next_workday(due)
        steps.append(f"期间最后一日为休息日，顺延至其后的第一个工作日 {calendar.describe(moved)}。")
        due = moved
    provisional = any(
        calendar.is_provisional(start + timedelta(days=i)) for i in range((due - start).days + 1)
    )
    if provisional:
        steps.append("所涉年份工作日历尚未导入，结果为临时期限；导入日历后将重新计算。")
    steps.append(f"期限届满日：{due.isoformat()}。")
    return Deadline(
        clock=clock,
        start=start,
        due=due,
        days=n,
        mode="months",
        pack=pack.name,
        version=pack.version,
        provisional=provisional,
        steps=tuple(steps),
        pauses=tuple(merged),
    )
