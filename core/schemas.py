"""API input shapes (msgspec). Unknown fields are refused; lengths are bounded.

Field-level rules that need the tenant (rule packs, plugins) live in the services.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from litestar.params import Parameter
from msgspec import UNSET, Meta, Struct, UnsetType

from core.validation import VISIBLE

MAX_ID = 2**31 - 1
"""Ids are PostgreSQL ``integer`` columns: anything larger is refused before a query."""
Id = Annotated[int, Meta(ge=1, le=MAX_ID), Parameter(ge=1, le=MAX_ID)]
"""The one id type for path and query parameters (Parameter) and Struct fields (Meta)."""
OptionalId = Annotated[Id | None, Parameter(ge=1, le=MAX_ID)]

Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=VISIBLE)]
"""A person's or a thing's name: must show at least one visible character."""
ShortText = Annotated[str, Meta(max_length=200)]
LongText = Annotated[str, Meta(max_length=5000)]
Code = Annotated[str, Meta(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9_.-]+$")]
PersonalNumber = Annotated[str, Meta(max_length=40)]

Channel = Literal["letter", "visit", "phone", "online"]
CHANNEL_ZH = {"letter": "来信", "visit": "来访", "phone": "来电", "online": "网上"}
Purpose = Literal[
    "personal", "suggestion", "accusation", "feelings", "psychological", "outside_jurisdiction"
]
PURPOSE_ZH = {
    "personal": "个人问题",
    "suggestion": "建议意见",
    "accusation": "检举控告",
    "feelings": "表达情绪",
    "psychological": "心理需求",
    "outside_jurisdiction": "不属本机关管辖",
}
LegalCategory = Literal["suggestion", "accusation", "claim"]
LEGAL_CATEGORY_ZH = {"suggestion": "建议意见", "accusation": "检举控告", "claim": "申诉求决"}
DepartmentKind = Literal["office", "division", "tribunal", "station", "branch", "bureau", "team"]


class Strict(Struct, forbid_unknown_fields=True):
    pass


class DepartmentIn(Strict):
    code: Code
    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=VISIBLE)]
    kind: DepartmentKind = "office"
    parent_id: OptionalId = None


class UserIn(Strict):
    username: Annotated[str, Meta(min_length=2, max_length=63)]
    display_name: Name
    password: Annotated[str, Meta(min_length=1, max_length=200)]
    roles: Annotated[list[str], Meta(min_length=1, max_length=5)]
    department_id: OptionalId = None
    title: ShortText = ""
    email: Annotated[str, Meta(max_length=254)] = ""


class UserUpdateIn(Strict):
    """A change of an account: what is left out stays; ``department_id: null`` removes
    the department."""

    roles: Annotated[list[str], Meta(min_length=1, max_length=5)] | UnsetType = UNSET
    department_id: OptionalId | UnsetType = UNSET


class TokenIn(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=100)] = "api"
    ttl_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    """Days until it expires; none means the tenant's maximum (default 90 days)."""


class PasswordIn(Strict):
    current_password: Annotated[str, Meta(min_length=1, max_length=200)]
    new_password: Annotated[str, Meta(min_length=1, max_length=200)]


class VisitorIn(Strict):
    name: Name
    id_number: PersonalNumber | None = None
    phone: PersonalNumber | None = None
    address: ShortText | None = None


class PersonIn(Strict):
    name: Name
    id_number: PersonalNumber | None = None
    phone: PersonalNumber | None = None


class AccusedIn(Strict):
    """检举控告: who is accused. They (and their department) never see the case."""

    user_ids: Annotated[list[Id], Meta(max_length=20)] = []
    department_ids: Annotated[list[Id], Meta(max_length=20)] = []
    description: ShortText = ""


class CaseIn(Strict):
    channel: Channel
    cause: Annotated[str, Meta(min_length=1, max_length=5000)]
    visitor: VisitorIn | None = None
    visitor_id: OptionalId = None
    received_at: datetime | None = None
    headcount: Annotated[int, Meta(ge=1, le=100000)] = 1
    representatives: Annotated[list[PersonIn], Meta(max_length=50)] = []
    category: Code = "general"
    purpose: Purpose = "personal"
    legal_category: LegalCategory = "claim"
    locality: ShortText = ""
    demand: LongText = ""
    form: dict[str, Any] = {}
    department_id: OptionalId = None
    session_id: OptionalId = None
    skip_level: bool = False
    """越级访: the visitor bypassed the competent lower level."""
    assigned_from_above: bool = False
    """上级交办: the matter came down from a higher authority (longer clock in some packs)."""
    answered_on_spot: LongText = ""
    """口头告知: the answer given on the spot; closes the matter at first contact."""
    accused: AccusedIn | None = None


# "08:30" as people type it; msgspec's own time type insists on seconds.
ClockTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")]


class SessionIn(Strict):
    day: date
    half: Literal["am", "pm"]
    starts_at: ClockTime
    ends_at: ClockTime
    place: Annotated[str, Meta(min_length=1, max_length=200)]
    topics: Annotated[list[ShortText], Meta(max_length=20)] = []
    kind: Code = "leader_day"
    leader_id: OptionalId = None
    department_id: OptionalId = None
    note: LongText = ""


class LoginIn(Strict):
    tenant: Annotated[str, Meta(min_length=1, max_length=63)]
    username: Annotated[str, Meta(min_length=1, max_length=63)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


RedirectChannel = Literal[
    "litigation", "arbitration", "administrative_review", "administrative_litigation", "other"
]
REDIRECT_CHANNEL_ZH = {
    "litigation": "诉讼",
    "arbitration": "仲裁",
    "administrative_review": "行政复议",
    "administrative_litigation": "行政诉讼",
    "other": "其他法定途径",
}
NoticeChannel = Literal["in_person", "post", "sms", "online"]
NOTICE_CHANNEL_ZH = {
    "in_person": "当面送达",
    "post": "邮寄送达",
    "sms": "短信告知",
    "online": "网上告知（信访信息系统）",
}
Opinion = Literal["support", "explain", "not_support"]
OPINION_ZH = {"support": "支持", "explain": "解释说明", "not_support": "不支持"}


class ActionIn(Strict):
    """One lifecycle step. Which fields are required depends on the action; the
    service names the missing one."""

    reason: LongText = ""
    note: LongText = ""
    channel: RedirectChannel | None = None
    to_department_id: OptionalId = None
    to_tenant: Annotated[str, Meta(max_length=63)] | None = None
    handler_id: OptionalId = None
    department_id: OptionalId = None
    plan: LongText = ""
    minutes: LongText = ""
    department_ids: Annotated[list[Id], Meta(max_length=30)] = []
    days: Annotated[int, Meta(ge=1, le=365)] | None = None
    opinion: Opinion | None = None
    opinion_text: LongText = ""
    on: date | None = None
    """The day it happened (review requested, pause began/ended); default today."""
    pause_kind: Literal["hearing", "appraisal", "other"] | None = None
    user_id: OptionalId = None
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"] | None = None
    """回访: the petitioner's satisfaction with the outcome."""
    fields: Annotated[list[Literal["phone", "address"]], Meta(max_length=2)] = []
    """adopt_contact: which fields of the transferred copy to adopt (default: all)."""
    version: Annotated[int, Meta(ge=0, le=MAX_ID)] | None = None
    """Optimistic concurrency: the case version the clerk saw; stale → 409."""


class NoticeIn(Strict):
    """书面告知: the written notice of acceptance / non-acceptance / transfer, as given."""

    channel: NoticeChannel
    """in_person 当面送达, post 邮寄, sms 短信, online 网上."""
    given_on: date
    """The day the notice was given (not in the future, not before receipt)."""
    note: LongText = ""
    version: int | None = None
