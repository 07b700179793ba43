"""What hooks return, as typed msgspec Structs, and the tenant a hook is called for.

A plugin may return these Structs or plain dicts of the same shape: the host converts
every return with ``msgspec.convert`` into the type its hookspec declares, and a
malformed return (unknown key, wrong type, broken constraint) fails as
``plugin_failed`` naming the plugin — it never reaches a client half-checked. Optional
keys are ``UNSET`` by default so a client sees exactly the keys the plugin gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

Code = Annotated[str, Meta(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9_.-]+$")]
"""A machine name: category, field, document, section, template or channel code."""
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Urgency = Literal["normal", "high", "urgent"]
URGENCY_ORDER: tuple[Urgency, ...] = ("normal", "high", "urgent")
"""Lowest to highest; when several plugins speak, the highest wins."""


class _Shape(Struct, kw_only=True, forbid_unknown_fields=True):
    """Keyword-only and strict: a misspelt key is a malformed return, not a silent loss."""


@dataclass(frozen=True)
class TenantInfo:
    """The tenant a hook is called for (``tenant``), with the plugins it enabled."""

    id: int
    slug: str
    name: str
    rule_pack: str
    timezone: str
    settings: dict[str, Any] = field(default_factory=dict)
    plugins: frozenset[str] = frozenset()
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)


class PluginInfo(_Shape):
    """``xinfang_plugin_info``: shown in plugin lists; the title names the plugin in
    ``plugin_failed`` messages."""

    name: str | UnsetType = UNSET
    title_zh: str | UnsetType = UNSET
    version: str = ""
    description: str = ""


class Category(_Shape):
    """``xinfang_categories``: a case category."""

    code: Code
    title_zh: Title
    group: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class Document(_Shape):
    """``xinfang_documents``: a notice the sector needs; ``template`` has ``{placeholders}``."""

    code: Code
    title_zh: Title
    template: str


class ReportSection(_Shape):
    """``xinfang_report_sections``: an extra report section counting these categories."""

    code: Code
    title_zh: Title
    categories: list[str]


class NotificationChannel(_Shape):
    """``xinfang_notification_channels``: a channel the plugin delivers through."""

    code: Code
    title_zh: Title


Cadence = Literal["weekly", "every_workday", "monthly", "on_demand", "per_case"]
HolidayPolicy = Literal["skip", "previous_workday", "next_workday", "keep"]
Weekday = Annotated[int, Meta(ge=0, le=6)]


class RotaSlot(_Shape):
    """One half-day reception period of a rota, e.g. am 08:30–11:30."""

    half: Literal["am", "pm"]
    start: time
    end: time


class RotaTemplate(_Shape, omit_defaults=True):
    """``xinfang_rota_templates``: a reception form of the sector (``code``, ``title_zh``,
    ``kind``, ``cadence``). A ``weekly`` or ``every_workday`` template that also names
    its ``leaders`` is a rota core can expand (``core.plugins.domain_rota_template``):
    ``kind`` is its role, ``slots`` left empty are core's standard half-days."""

    code: Code
    title_zh: Title
    kind: Code
    cadence: Cadence
    weekdays: tuple[Weekday, ...] = ()
    slots: tuple[RotaSlot, ...] = ()
    place: str = ""
    topics: tuple[str, ...] = ()
    leaders: tuple[int, ...] = ()
    standby: tuple[int, ...] = ()
    holiday_policy: HolidayPolicy = "skip"
    makeup_workdays: bool = False
    leaders_per_slot: Annotated[int, Meta(ge=1)] = 1
    same_leader_whole_day: bool = True


class Accused(_Shape):
    """Who must never see a case: accounts, departments (by code) and staff names (e.g.
    警号: hides the case from any account with that username or title, now or later)."""

    user_ids: list[int] | UnsetType = UNSET
    department_codes: list[str] | UnsetType = UNSET
    staff_names: list[str] | UnsetType = UNSET


class Redirect(_Shape):
    """诉访分离: where the matter belongs instead, and the notice telling the petitioner."""

    channel: str
    reason: str
    notice: str


class Route(_Shape):
    """``xinfang_route_case``: the plugin's routing decision for a new case."""

    department_code: str | None = None
    urgency: Urgency | None = None
    flags: dict[str, Any] = {}
    accused: Accused | None = None
    redirect: Redirect | None = None
