"""The rota's vocabulary: templates (validated), the carried rotation state, planned,
unfilled and skipped slots, and the work calendar as the expansion sees it. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
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

# Keys end up in slot keys ("key:date:half:position") and iCal UIDs, so no ":" or spaces.
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_NOON = time(12, 0)

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


def slot_key(template_key: str, day: date, half: Half, position: int) -> str:
    """The stable identity of one slot (also the basis of its iCal UID)."""
    return f"{template_key}:{day.isoformat()}:{half}:{position}"
