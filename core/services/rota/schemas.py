"""What the rota API accepts (msgspec; unknown fields are refused, lengths bounded)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta, Struct

from core.schemas import Id, OptionalId

Text200 = Annotated[str, Meta(max_length=200)]
HHMM = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Strict(Struct, forbid_unknown_fields=True):
    pass


class SlotIn(Strict):
    half: Literal["am", "pm"]
    start: HHMM
    end: HHMM


class TemplateIn(Strict):
    key: Annotated[str, Meta(min_length=1, max_length=64)]
    title_zh: Annotated[str, Meta(min_length=1, max_length=200)]
    leaders: Annotated[list[Id], Meta(max_length=100)]
    place: Text200 = ""
    role: Annotated[str, Meta(min_length=1, max_length=63)] = "leader_day"
    pattern: Literal["weekly", "every_workday"] = "weekly"
    weekdays: Annotated[list[int], Meta(max_length=7)] = []
    slots: Annotated[list[SlotIn], Meta(max_length=2)] | None = None
    topics: Annotated[list[Text200], Meta(max_length=20)] = []
    standby: Annotated[list[Id], Meta(max_length=100)] = []
    holiday_policy: Literal["skip", "previous_workday", "next_workday", "keep"] = "skip"
    makeup_workdays: bool = False
    leaders_per_slot: Annotated[int, Meta(ge=1, le=20)] = 1
    same_leader_whole_day: bool = True
    horizon_weeks: Annotated[int, Meta(ge=1, le=104)] = 8


class LeaveIn(Strict):
    first_day: date
    last_day: date
    user_id: OptionalId = None
    reason: Text200 = ""


class SwapIn(Strict):
    to_leader_id: Id
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class OverrideIn(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    leader_id: OptionalId = None
    cancel: bool = False


class PublishIn(Strict):
    until: date | None = None
