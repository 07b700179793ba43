"""Rota expansion for the leader reception day (领导信访接待日) and the court's 四接访.

Pure: a template, a work calendar and the carried rotation state in, planned slots and
the new state out. The service layer stores the slots as rows once published; this module
never sees the database. See docs/rota.md for the rules in prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Literal, Protocol

from core.errors import InvalidInput

Half = Literal["am", "pm"]
Pattern = Literal["weekly", "every_workday"]
HolidayPolicy = Literal["skip", "previous_workday", "next_workday", "keep"]
SkipReason = Literal["holiday_skipped", "merged", "outside_range"]

HALVES: tuple[Half, ...] = ("am", "pm")
PATTERNS: tuple[Pattern, ...] = ("weekly", "every_workday")
HOLIDAY_POLICIES: tuple[HolidayPolicy, ...] = ("skip", "previous_workday", "next_workday", "keep")

_DayPredicate = Callable[[date], bool]

# Keys end up in slot keys ("key:date:half:position") and iCal UIDs, so no ":" or spaces.
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_NOON = time(12, 0)
# A holiday block plus surrounding weekends is < 3 weeks; this only stops a broken calendar
# (e.g. one that never has a working day) from looping forever.
_MAX_SEARCH_DAYS = 366

AM_SLOT_DEFAULT_START = time(8, 30)
AM_SLOT_DEFAULT_END = time(11, 30)
PM_SLOT_DEFAULT_START = time(14, 30)
PM_SLOT_DEFAULT_END = time(17, 0)
HALF_ZH = {"am": "上午", "pm": "下午"}


class RotaCalendar(Protocol):
    """The part of core.domain.workcalendar.WorkCalendar that rota expansion needs."""

    def is_workday(self, d: date, /) -> bool: ...

    def is_makeup_workday(self, d: date, /) -> bool: ...

    def is_provisional(self, d: date, /) -> bool: ...

    def next_workday(self, d: date, /) -> date: ...

    def prev_workday(self, d: date, /) -> date: ...

    def describe(self, d: date, /) -> str: ...


@dataclass(frozen=True)
class SlotSpec:
    """One half-day reception period, e.g. am 08:30–11:30."""

    half: Half
    start: time
    end: time


STANDARD_SLOTS: tuple[SlotSpec, ...] = (
    SlotSpec("am", AM_SLOT_DEFAULT_START, AM_SLOT_DEFAULT_END),
    SlotSpec("pm", PM_SLOT_DEFAULT_START, PM_SLOT_DEFAULT_END),
)


@dataclass(frozen=True)
class RotaTemplate:
    """A rota definition. ``validate()`` before trusting one built from user input.

    ``makeup_workdays``: for ``every_workday`` a 调休 working Sat/Sun carries slots only
    when true. For ``weekly`` it decides whether a slot moved by the holiday policy may land
    on a 调休 Sat/Sun; a make-up day never adds an extra weekly slot (the notices do not
    say which weekday it stands for). ``holiday_policy`` only matters for ``weekly``:
    ``every_workday`` has no rest-day candidates.
    """

    key: str
    title_zh: str
    role: str
    pattern: Pattern
    weekdays: frozenset[int]
    slots: tuple[SlotSpec, ...]
    place: str
    topics: tuple[str, ...]
    leaders: tuple[int, ...]
    standby: tuple[int, ...]
    holiday_policy: HolidayPolicy
    makeup_workdays: bool
    leaders_per_slot: int = 1
    same_leader_whole_day: bool = True

    def validate(self) -> None:
        """Raise InvalidInput (first problem found) if the template cannot be expanded."""
        if not _KEY_RE.match(self.key):
            raise InvalidInput(
                "invalid_rota_key",
                "排班标识只能由 1–64 位字母、数字、下划线、点或连字符组成。",
                field="key",
            )
        if not self.title_zh.strip():
            raise InvalidInput("rota_title_required", "请填写排班名称。", field="title_zh")
        if not self.role.strip():
            raise InvalidInput("rota_role_required", "请填写排班类型。", field="role")
        if self.pattern not in PATTERNS:
            raise InvalidInput(
                "unknown_rota_pattern",
                "排班规律只能是“每周固定日”或“每个工作日”。",
                field="pattern",
            )
        if self.holiday_policy not in HOLIDAY_POLICIES:
            raise InvalidInput(
                "unknown_holiday_policy",
                "节假日处理方式只能是取消、提前、顺延或照常。",
                field="holiday_policy",
            )
        self._validate_weekdays()
        self._validate_slots()
        self._validate_people()

    def _validate_weekdays(self) -> None:
        for wd in self.weekdays:
            if isinstance(wd, bool) or not isinstance(wd, int) or not 0 <= wd <= 6:
                raise InvalidInput(
                    "unknown_weekday",
                    f"星期取值 {wd!r} 无效，应为 0（周一）至 6（周日）。",
                    field="weekdays",
                )
        if self.pattern == "weekly" and not self.weekdays:
            raise InvalidInput(
                "rota_weekdays_required", "每周固定日排班须至少选择一个星期。", field="weekdays"
            )
        if self.pattern == "every_workday" and self.weekdays:
            raise InvalidInput(
                "rota_weekdays_not_applicable",
                "“每个工作日”排班不能再指定星期。",
                field="weekdays",
            )

    def _validate_slots(self) -> None:
        if not self.slots:
            raise InvalidInput("rota_slots_required", "请至少设置一个接待时段。", field="slots")
        seen: set[str] = set()
        for i, slot in enumerate(self.slots):
            if slot.half not in HALVES:
                raise InvalidInput(
                    "unknown_slot_half", "时段只能是上午或下午。", field=f"slots[{i}].half"
                )
            if slot.half in seen:
                raise InvalidInput(
                    "duplicate_slot_half",
                    "同一排班的上午或下午时段只能各设一个。",
                    field=f"slots[{i}].half",
                )
            seen.add(slot.half)
            if slot.end <= slot.start:
                raise InvalidInput(
                    "slot_end_not_after_start",
                    "接待时段的结束时间必须晚于开始时间。",
                    field=f"slots[{i}].end",
                )
            if (slot.half == "am") != (slot.start < _NOON):
                raise InvalidInput(
                    "slot_half_mismatch",
                    "上午时段须在 12:00 前开始，下午时段须在 12:00 及以后开始。",
                    field=f"slots[{i}].start",
                )
        for earlier, later in pairwise(sorted(self.slots, key=lambda s: s.start)):
            if later.start < earlier.end:
                raise InvalidInput(
                    "overlapping_slots",
                    "上午与下午接待时段时间重叠。",
                    field=f"slots[{self.slots.index(later)}].start",
                )

    def _validate_people(self) -> None:
        if not self.leaders:
            raise InvalidInput("rota_leaders_required", "请至少指定一名轮值领导。", field="leaders")
        if len(set(self.leaders)) != len(self.leaders):
            raise InvalidInput(
                "duplicate_rota_leader", "轮值领导名单中有重复人员。", field="leaders"
            )
        if len(set(self.standby)) != len(self.standby):
            raise InvalidInput(
                "duplicate_standby_leader", "备班人员名单中有重复人员。", field="standby"
            )
        if set(self.standby) & set(self.leaders):
            raise InvalidInput(
                "standby_overlaps_leaders",
                "备班人员不能同时列入轮值领导名单。",
                field="standby",
            )
        if not 1 <= self.leaders_per_slot <= len(self.leaders):
            raise InvalidInput(
                "leaders_per_slot_out_of_range",
                f"每个时段接待领导人数须在 1 至 {len(self.leaders)}（轮值领导人数）之间。",
                field="leaders_per_slot",
            )


@dataclass(frozen=True, kw_only=True)
class RotaState:
    """Rotation carried between expansions of one template.

    ``cursor`` indexes ``template.leaders`` (the next in rotation order); ``counts`` are
    duty days per person in ``year`` (a person on several halves or positions of one day
    counts once). Counts restart when a slot is created in a later year; the cursor does not.
    """

    year: int
    cursor: int = 0
    counts: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # Normalised and read-only so states compare equal however they were built.
        clean = {k: v for k, v in sorted(self.counts.items()) if v}
        object.__setattr__(self, "counts", MappingProxyType(clean))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RotaState):
            return NotImplemented
        return (self.year, self.cursor, dict(self.counts)) == (
            other.year,
            other.cursor,
            dict(other.counts),
        )

    def __hash__(self) -> int:
        return hash((self.year, self.cursor, tuple(self.counts.items())))


@dataclass(frozen=True)
class PlannedSlot:
    """A slot to be stored/published; ``key`` is stable across re-expansions."""

    key: str
    template_key: str
    day: date
    half: Half
    position: int
    start: time
    end: time
    leader_id: int
    standby_used: bool
    provisional: bool
    place: str
    topics: tuple[str, ...]
    note_zh: str
    original_day: date | None


@dataclass(frozen=True)
class UnfilledSlot:
    """A slot that should exist but nobody (leader or standby) is available for it."""

    key: str
    template_key: str
    day: date
    half: Half
    position: int
    start: time
    end: time
    provisional: bool
    place: str
    topics: tuple[str, ...]
    note_zh: str
    original_day: date | None


@dataclass(frozen=True)
class SkippedDay:
    """A pattern day inside the window that produced no slot in this run, and why.

    ``holiday_skipped``: rest day under policy ``skip``; ``merged``: moved onto a day that
    already has this rota's reception; ``outside_range``: moved to ``moved_to`` outside
    [start, end] — the expansion covering that day creates it.
    """

    template_key: str
    original_day: date
    reason: SkipReason
    moved_to: date | None
    note_zh: str


@dataclass(frozen=True)
class ExpansionResult:
    """``slots`` to create, ``unfilled`` slots for a human, ``skipped`` days, new ``state``."""

    slots: tuple[PlannedSlot, ...]
    unfilled: tuple[UnfilledSlot, ...]
    skipped: tuple[SkippedDay, ...]
    state: RotaState


@dataclass(frozen=True)
class _DayPlan:
    day: date
    original_day: date | None
    note_zh: str


def slot_key(template_key: str, day: date, half: Half, position: int) -> str:
    """The stable identity of one slot (also the basis of its iCal UID)."""
    return f"{template_key}:{day.isoformat()}:{half}:{position}"


def expand(
    template: RotaTemplate,
    calendar: RotaCalendar,
    start: date,
    end: date,
    state: RotaState,
    unavailable: Mapping[int, Sequence[tuple[date, date]]] = MappingProxyType({}),
    existing_keys: Set[str] = frozenset(),
) -> ExpansionResult:
    """Plan the slots of ``template`` on days in [start, end] (inclusive).

    Deterministic. Keys in ``existing_keys`` are already stored: they are not re-assigned
    and do not move the rotation, so re-running over an overlapping window is idempotent.
    ``unavailable`` maps a person to inclusive (first, last) day ranges of leave.
    """
    template.validate()
    if end < start:
        raise InvalidInput("rota_range_reversed", "排班结束日期不能早于开始日期。", field="end")
    for person, ranges in unavailable.items():
        for first, last in ranges:
            if last < first:
                raise InvalidInput(
                    "leave_range_reversed",
                    f"人员 {person} 的请假结束日期早于开始日期。",
                    field=f"unavailable[{person}]",
                )
    days, skipped = _plan_days(template, calendar, start, end)
    rotation = _Rotation(template, state)
    specs = sorted(template.slots, key=lambda s: s.start)
    slots: list[PlannedSlot] = []
    unfilled: list[UnfilledSlot] = []

    for plan in days:
        off = _unavailable_on(unavailable, plan.day)
        provisional = calendar.is_provisional(plan.day)
        taken: dict[Half, set[int]] = {s.half: set() for s in specs}
        for position in range(template.leaders_per_slot):
            missing = [
                s
                for s in specs
                if slot_key(template.key, plan.day, s.half, position) not in existing_keys
            ]
            if not missing:
                continue
            rotation.enter_year(plan.day.year)
            # One pick per day when the same leader takes the whole day, else one per half.
            units = [missing] if template.same_leader_whole_day else [[s] for s in missing]
            for unit in units:
                held = set().union(*(taken[s.half] for s in unit))
                leader, standby_used = rotation.pick(off, held)
                if leader is not None:
                    rotation.credit(leader, plan.day)
                for spec in unit:
                    made = _make_slot(
                        template, plan, spec, position, provisional, leader, standby_used
                    )
                    if isinstance(made, UnfilledSlot):
                        unfilled.append(made)
                    else:
                        taken[spec.half].add(made.leader_id)
                        slots.append(made)

    return ExpansionResult(
        slots=tuple(slots),
        unfilled=tuple(unfilled),
        skipped=tuple(skipped),
        state=rotation.state(),
    )


def _make_slot(
    template: RotaTemplate,
    plan: _DayPlan,
    spec: SlotSpec,
    position: int,
    provisional: bool,
    leader: int | None,
    standby_used: bool,
) -> PlannedSlot | UnfilledSlot:
    key = slot_key(template.key, plan.day, spec.half, position)
    if leader is None:
        return UnfilledSlot(
            key=key,
            template_key=template.key,
            day=plan.day,
            half=spec.half,
            position=position,
            start=spec.start,
            end=spec.end,
            provisional=provisional,
            place=template.place,
            topics=template.topics,
            note_zh=_join(plan.note_zh, "轮值领导和备班人员当日均不可用，须人工安排"),
            original_day=plan.original_day,
        )
    return PlannedSlot(
        key=key,
        template_key=template.key,
        day=plan.day,
        half=spec.half,
        position=position,
        start=spec.start,
        end=spec.end,
        leader_id=leader,
        standby_used=standby_used,
        provisional=provisional,
        place=template.place,
        topics=template.topics,
        note_zh=_join(plan.note_zh, "轮值领导当日均不可用，由备班人员接待" if standby_used else ""),
        original_day=plan.original_day,
    )


def balance_report(slots: Iterable[PlannedSlot], leaders: Iterable[int] = ()) -> dict[int, int]:
    """Duty days per person (same unit as RotaState.counts); ``leaders`` listed even at 0."""
    days: dict[int, set[tuple[str, date]]] = {pid: set() for pid in leaders}
    for slot in slots:
        days.setdefault(slot.leader_id, set()).add((slot.template_key, slot.day))
    return {pid: len(d) for pid, d in days.items()}


# --- presets (seeds) -------------------------------------------------------------------


def monday_leader_day(
    leaders: Sequence[int],
    place: str,
    *,
    holiday_policy: HolidayPolicy = "next_workday",
    standby: Sequence[int] = (),
) -> RotaTemplate:
    """Seeds: every Monday is the leaders' reception day, the (five) leaders rotate.

    A Monday inside a holiday moves to the next working day by default, so the week still
    has its reception day.
    """
    return RotaTemplate(
        key="monday_leader_day",
        title_zh="领导信访接待日",
        role="leader_day",
        pattern="weekly",
        weekdays=frozenset({0}),
        slots=STANDARD_SLOTS,
        place=place,
        topics=(),
        leaders=tuple(leaders),
        standby=tuple(standby),
        holiday_policy=holiday_policy,
        makeup_workdays=False,
    )


# --- internals ---------------------------------------------------------------------------


def _plan_days(
    template: RotaTemplate, calendar: RotaCalendar, start: date, end: date
) -> tuple[list[_DayPlan], list[SkippedDay]]:
    def usable(d: date) -> bool:
        return calendar.is_workday(d) and (
            template.makeup_workdays or not calendar.is_makeup_workday(d)
        )

    if template.pattern == "every_workday":
        return [_DayPlan(d, None, "") for d in _days(start, end) if usable(d)], []

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

    plans: list[_DayPlan] = []
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
            plans.append(_DayPlan(target, None if winner == target else winner, note))
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


def _unavailable_on(unavailable: Mapping[int, Sequence[tuple[date, date]]], day: date) -> set[int]:
    return {pid for pid, ranges in unavailable.items() if any(a <= day <= b for a, b in ranges)}


class _Rotation:
    """Mutable working copy of RotaState during one expansion."""

    def __init__(self, template: RotaTemplate, state: RotaState) -> None:
        self.leaders = template.leaders
        self.standby = template.standby
        self.year = state.year
        self.cursor = state.cursor % len(self.leaders)
        self.counts = dict(state.counts)
        self._credited: set[tuple[int, date]] = set()

    def enter_year(self, year: int) -> None:
        if year < self.year:
            raise InvalidInput(
                "rota_state_year_ahead",
                f"轮值状态属于 {self.year} 年，不能再为更早的 {year} 年生成排班。",
                field="state.year",
            )
        if year > self.year:
            self.year, self.counts = year, {}

    def pick(self, off: Set[int], taken: Set[int]) -> tuple[int | None, bool]:
        """Balanced round-robin: fewest duty days this year, ties in rotation order.

        ``off`` are on leave today, ``taken`` already hold this slot at another position.
        A leader passed over for leave keeps the cursor on them (and the lower count), so
        they take the next slot they are free for. Only a rotation pick moves the cursor;
        a standby is a stand-in.
        """
        n = len(self.leaders)
        ring = [self.leaders[(self.cursor + i) % n] for i in range(n)]
        free = [p for p in ring if p not in off and p not in taken]
        if free:
            best = min(free, key=lambda p: self.counts.get(p, 0))  # first of equals wins
            passed = [p for p in ring[: ring.index(best)] if p in off]
            if passed:
                self.cursor = self.leaders.index(passed[0])
            else:
                self.cursor = (self.leaders.index(best) + 1) % n
            return best, False
        spare = [p for p in self.standby if p not in off and p not in taken]
        if spare:
            return min(spare, key=lambda p: self.counts.get(p, 0)), True
        return None, False

    def credit(self, person: int, day: date) -> None:
        # Counts are duty days: a second half or position on the same day adds nothing.
        if (person, day) not in self._credited:
            self._credited.add((person, day))
            self.counts[person] = self.counts.get(person, 0) + 1

    def state(self) -> RotaState:
        return RotaState(year=self.year, cursor=self.cursor, counts=self.counts)


def _join(*parts: str) -> str:
    return "；".join(p for p in parts if p)
