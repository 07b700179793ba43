"""Rota expansion: a template, a work calendar and the carried rotation state in, planned
slots and the new state out (balanced round-robin with leave and standby). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import date
from types import MappingProxyType

from core.domain.rota.days import DayPlan, plan_days
from core.domain.rota.model import (
    ExpansionResult,
    Half,
    PlannedSlot,
    RotaCalendar,
    RotaState,
    RotaTemplate,
    SlotSpec,
    UnfilledSlot,
    slot_key,
)
from core.errors import InvalidInput


def expand(
    template: RotaTemplate,
    calendar: RotaCalendar,
    start: date,
    end: date,
    state: RotaState,
    unavailable: Mapping[int, Sequence[tuple[date, date]]] = MappingProxyType({}),
    existing: Mapping[str, int | None] = MappingProxyType({}),
) -> ExpansionResult:
    """Plan the slots of ``template`` on days in [start, end] (inclusive).

    Deterministic. ``existing`` maps the keys of slots already stored to the leader who
    holds each (``None``: nobody, e.g. cancelled). Those slots are not re-assigned and do
    not move the rotation, and their holders are not picked again for the same half at
    another position, so re-running over an overlapping window is idempotent.
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
    days, skipped = plan_days(template, calendar, start, end)
    rotation = _Rotation(template, state)
    specs = sorted(template.slots, key=lambda s: s.start)
    slots: list[PlannedSlot] = []
    unfilled: list[UnfilledSlot] = []

    for plan in days:
        off = _unavailable_on(unavailable, plan.day)
        provisional = calendar.is_provisional(plan.day)
        # Who holds each half at each position: the stored slots first, so that a rerun
        # sees the leaders it did not pick this time (a position left unfilled for want
        # of free leaders must stay unfilled, not go to the holder of another position).
        holders = _holders(template, plan.day, specs, existing)
        for position in range(template.leaders_per_slot):
            missing = [
                s
                for s in specs
                if slot_key(template.key, plan.day, s.half, position) not in existing
            ]
            if not missing:
                continue
            rotation.enter_year(plan.day.year)
            # One pick per day when the same leader takes the whole day, else one per half.
            units = [missing] if template.same_leader_whole_day else [[s] for s in missing]
            for unit in units:
                held = {
                    leader for s in unit for at, leader in holders[s.half].items() if at != position
                }
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
                        holders[spec.half][position] = made.leader_id
                        slots.append(made)

    return ExpansionResult(
        slots=tuple(slots),
        unfilled=tuple(unfilled),
        skipped=tuple(skipped),
        state=rotation.state(),
    )


def _holders(
    template: RotaTemplate,
    day: date,
    specs: Sequence[SlotSpec],
    existing: Mapping[str, int | None],
) -> dict[Half, dict[int, int]]:
    """Per half, position → leader of the stored slots of ``day`` that someone holds."""
    out: dict[Half, dict[int, int]] = {}
    for spec in specs:
        out[spec.half] = {}
        for position in range(template.leaders_per_slot):
            leader = existing.get(slot_key(template.key, day, spec.half, position))
            if leader is not None:
                out[spec.half][position] = leader
    return out


def _make_slot(
    template: RotaTemplate,
    plan: DayPlan,
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
