"""What the rota services answer (msgspec Structs; the API sends them as they are).

Field order follows the rows they come from; the JSON is what the dict answers were.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from msgspec import Struct

from core.domain.rota.model import Half, HolidayPolicy, Pattern, SkipReason


class TemplateSlotTimes(Struct):
    """One half-day period of a template, times as ``HH:MM``."""

    half: Half
    start: str
    end: str


class TemplateState(Struct, omit_defaults=True):
    """The carried rotation state; empty (``{}``) until the first generation."""

    year: int | None = None
    cursor: int | None = None
    counts: dict[str, int] | None = None
    """Duty days per person id (as text) in ``year``."""


class RotaTemplateOut(Struct):
    id: int
    key: str
    title_zh: str
    role: str
    pattern: Pattern
    weekdays: list[int]
    slots: list[TemplateSlotTimes]
    place: str
    topics: list[str]
    leaders: list[int]
    standby: list[int]
    leaders_per_slot: int
    same_leader_whole_day: bool
    holiday_policy: HolidayPolicy
    makeup_workdays: bool
    horizon_weeks: int
    state: TemplateState
    active: bool


class RotaSlotOut(Struct):
    """A stored slot (``rota_slot`` row). ``slot_key`` is the planning identity,
    ``uid_key`` the stable iCal UID basis; ``sequence`` counts changes after publishing."""

    id: int
    template_id: int
    slot_key: str
    uid_key: str
    day: date
    original_day: date | None
    half: Half
    position: int
    starts_at: time
    ends_at: time
    place: str
    topics: list[str]
    role: str
    title: str
    leader_id: int | None
    standby_used: bool
    provisional: bool
    status: str
    sequence: int
    session_id: int | None
    note: str
    published_at: datetime | None
    updated_at: datetime


class RotaChangeOut(Struct):
    """A recorded change of a slot (``rota_change`` row): swap, override, leave, calendar."""

    id: int
    tenant_id: int
    slot_id: int
    kind: str
    status: str
    from_leader_id: int | None
    to_leader_id: int | None
    reason: str
    requested_by: int | None
    decided_by: int | None
    data: dict[str, Any]
    created_at: datetime
    decided_at: datetime | None


class LeaveOut(Struct):
    """A leader's recorded leave (``leader_leave`` row)."""

    id: int
    tenant_id: int
    user_id: int
    first_day: date
    last_day: date
    reason: str
    created_by: int | None
    created_at: datetime


class LeaveResult(Struct):
    """Leave recorded: draft slots handed to a stand-in, published ones left as conflicts."""

    id: int
    user_id: int
    first_day: date
    last_day: date
    reassigned: list[int]
    conflicts: list[int]


class GenerateResult(Struct):
    created: int
    unfilled: int


class PreviewSlot(Struct):
    """A slot generation would create (``leader_id`` None: nobody free, see ``note``)."""

    template_id: int
    key: str
    day: date
    original_day: date | None
    half: Half
    position: int
    start: str
    end: str
    leader_id: int | None
    standby_used: bool
    provisional: bool
    place: str
    topics: list[str]
    note: str


class PreviewSkipped(Struct):
    """A pattern day that gives no slot: ``holiday_skipped``, ``merged`` or
    ``outside_range`` (moved to ``moved_to``, created by a later run)."""

    template_id: int
    original_day: date
    reason: SkipReason
    moved_to: date | None
    note: str


class GeneratePreview(Struct):
    """What generation would create now (nothing stored): from ``start`` up to ``until``
    (the furthest horizon of the active templates; None when there is none)."""

    start: date
    until: date | None
    slots: list[PreviewSlot]
    unfilled: list[PreviewSlot]
    skipped: list[PreviewSkipped]


class FeedTokenInfo(Struct):
    """An active private feed link of the acting person (its URL is not kept)."""

    id: int
    prefix: str
    created_at: datetime


class GenerateAllResult(Struct):
    tenants: int
    created: int
    unfilled: int


class PublishResult(Struct):
    published: int


class DemoRotaResult(Struct):
    created: int
    unfilled: int
    published: int


class FeedTokenOut(Struct):
    """A new private iCal feed (the token is in ``url``/``path``, shown once)."""

    id: int
    url: str
    path: str


class RevokeResult(Struct):
    revoked: int


class PublicTenant(Struct):
    slug: str
    name: str


class PublicLeader(Struct):
    name: str
    title: str


class PublicSlot(Struct):
    day: date
    half: Half
    start: str
    end: str
    title: str
    role: str
    place: str
    topics: list[str]
    leader: PublicLeader
    provisional: bool
    note: str


class PublicSchedule(Struct):
    """A tenant's published schedule from today (the public page's data)."""

    tenant: PublicTenant
    timezone: str
    slots: list[PublicSlot]
