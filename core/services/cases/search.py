"""Finding matters: the filters of the case list (page ``/cases`` and ``GET /api/v1/cases``),
the saved views that are presets of them, and the counts the dashboard shows.

Filters arrive as text (query strings) and are checked here, so the page and the API
refuse the same values with the same code: ``invalid_filter`` (HTTP 400) naming the
field; a department id that names none of the tenant's: ``unknown_department`` (422). ``q`` finds a matter by receipt code (exact), a person's exact ID number or phone
(through the keyed hashes, as ``visitors`` looks people up — never by decrypting) or
by name (contains).

Every condition is a tenant-scoped subquery or a column of ``petition_case``, so each
common filter is served by a tenant-leading index (migration ``m0008_case_search``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count

from core.db.engine import is_postgres
from core.db.tables import (
    CaseDeadline,
    CaseEvent,
    CaseTransfer,
    Department,
    PetitionCase,
    Visitor,
)
from core.domain import identity
from core.domain.lifecycle import OPEN, STATUS_ZH
from core.domain.reminders import Policy, horizon
from core.errors import InvalidInput, MalformedRequest
from core.plugins import TenantInfo
from core.principal import Principal
from core.schemas import CHANNEL_ZH, MAX_ID
from core.services import deadlines, sector
from core.services.scope import Scope
from core.settings import TIMEZONE

VISIT_KINDS = ("first", "repeat")
STATUS_GROUPS = {"open": tuple(sorted(OPEN))}
"""``status=open``: every status still being handled."""
TRUE = ("1", "true", "on", "yes")
FALSE = ("0", "false", "off", "no")
FILTER_FIELDS = (
    "view",
    "q",
    "status",
    "category",
    "channel",
    "department",
    "visit_kind",
    "overdue",
    "due_soon",
    "mine",
    "incoming",
    "received_from",
    "received_to",
)
"""The query parameters of the list (beside ``after`` and ``limit``), in form order."""
_RECEIPT = re.compile(r"(\d{6})-?([0-9A-HJKMNP-TV-Z]{8})")
_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")
_PHONE_CHARS = re.compile(r"[\d+\-() 转分机ext.]+", re.IGNORECASE)
_LIKE_SPECIAL = str.maketrans("", "", "%_\\")


@dataclass(frozen=True)
class View:
    """A saved filter: a named preset of the list's query string."""

    name: str
    title_zh: str
    preset: Callable[[Principal], dict[str, str]]


def _department_queue(who: Principal) -> dict[str, str]:
    if who.department_id is not None:
        return {"department": str(who.department_id), "status": "open"}
    return {"mine": "1", "status": "open"}


def _my_clocks(who: Principal, which: str) -> dict[str, str]:
    """The clocks a person answers for; supervisors and leaders oversee (督办) them all."""
    if who.roles & {"supervisor", "leader"}:
        return {which: "1"}
    return {which: "1", "mine": "1"}


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View("department", "本部门待办", _department_queue),
        View("incoming", "转来待接收", lambda _: {"incoming": "1"}),
        View("reports", "待审批的回告", lambda _: {"status": "reported"}),
        View("due_soon", "即将到期", lambda who: _my_clocks(who, "due_soon")),
        View("overdue", "已超期", lambda who: _my_clocks(who, "overdue")),
    )
}


@dataclass(frozen=True)
class CaseFilter:
    """The checked filters of one list request (all optional; ``None``: not filtered)."""

    view: str | None = None
    q: str | None = None
    q_kind: str | None = None
    """How ``q`` was read: receipt, id_number, phone or name."""
    q_hashes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    status: str | None = None
    category: str | None = None
    channel: str | None = None
    department_id: int | None = None
    visit_kind: str | None = None
    overdue: bool | None = None
    due_soon: bool = False
    mine: bool = False
    incoming: bool = False
    received_from: date | None = None
    received_to: date | None = None
    values: dict[str, str] = field(default_factory=dict)
    """The effective query string (view expanded), for forms and next-page links."""


def _bad(name: str, message: str) -> MalformedRequest:
    return MalformedRequest("invalid_filter", message, field=name)


def _flag(raw: Mapping[str, str], name: str, label: str) -> bool | None:
    value = raw.get(name, "").strip().lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise _bad(name, f"{label}（{name}）只能是 1/true 或 0/false。")


def _date(raw: Mapping[str, str], name: str, label: str) -> date | None:
    value = raw.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(name, f"{label}（{name}）应为日期，如 2026-11-29。") from None


def _choice(
    raw: Mapping[str, str], name: str, label: str, allowed: Mapping[str, Any]
) -> str | None:
    value = raw.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise _bad(name, f"{label}（{name}）不是可选的值。")
    return value


def read_q(scope: Scope, text: str) -> tuple[str, str, tuple[str, ...]]:
    """(normalized q, kind, keyed hashes) for a search text; refuses an ID number or
    phone that can never match (wrong checksum, too few digits)."""
    q = unicodedata.normalize("NFKC", text).strip()
    compact = re.sub(r"\s+", "", q).upper()
    receipt = _RECEIPT.fullmatch(compact)
    if receipt:
        return f"{receipt.group(1)}-{receipt.group(2)}", "receipt", ()
    keys = scope.rt.keys
    try:
        if _ID_NUMBER.fullmatch(compact):
            norm = identity.normalize_for_lookup("id_number", compact)
            return q, "id_number", tuple(keys.blind_index_candidates(norm, purpose="id_number"))
        if _PHONE_CHARS.fullmatch(q) and sum(ch.isdigit() for ch in q) >= 7:
            norm = identity.normalize_for_lookup("phone", identity.normalize_phone(q))
            return q, "phone", tuple(keys.blind_index_candidates(norm, purpose="phone"))
    except InvalidInput as exc:
        raise _bad("q", f"搜索内容（q）：{exc.message}") from None
    name = q.translate(_LIKE_SPECIAL).strip()
    if not name:
        raise _bad("q", "搜索内容（q）：请输入受理编号、姓名、身份证号码或电话。")
    return name, "name", ()


async def parse_filter(
    scope: Scope, tenant: TenantInfo, raw: Mapping[str, str | None]
) -> CaseFilter:
    """Check the list's query parameters (text, as they came); a view fills in what the
    request leaves out. Raises ``MalformedRequest("invalid_filter", field=…)``."""
    given = {k: (v or "").strip() for k, v in raw.items() if k in FILTER_FIELDS and v}
    view = given.get("view") or None
    values = dict(given)
    if view is not None:
        if view not in VIEWS:
            raise _bad("view", "没有这个常用筛选（view）。")
        values = {**VIEWS[view].preset(scope.actor), **given}
    f = CaseFilter(view=view, values=values)
    if len(values.get("q", "")) > 100:
        raise _bad("q", "搜索内容（q）不能超过 100 个字符。")
    if values.get("q"):
        q, kind, hashes = read_q(scope, values["q"])
        f = replace(f, q=q, q_kind=kind, q_hashes=hashes)
    status = _choice(values, "status", "状态", {**STATUS_ZH, **STATUS_GROUPS})
    if status:
        f = replace(f, status=status, statuses=STATUS_GROUPS.get(status, (status,)))
    codes = (
        {c.code: c for c in await sector.categories(scope, tenant)}
        if values.get("category")
        else {}
    )
    f = replace(
        f,
        category=_choice(values, "category", "类别", codes),
        channel=_choice(values, "channel", "来源", CHANNEL_ZH),
        visit_kind=_choice(values, "visit_kind", "初访/重复访", dict.fromkeys(VISIT_KINDS)),
        overdue=_flag(values, "overdue", "已超期"),
        due_soon=bool(_flag(values, "due_soon", "即将到期")),
        mine=bool(_flag(values, "mine", "我负责的")),
        incoming=bool(_flag(values, "incoming", "转来待接收")),
        received_from=_date(values, "received_from", "登记日期起"),
        received_to=_date(values, "received_to", "登记日期止"),
    )
    if f.received_from and f.received_to and f.received_from > f.received_to:
        raise _bad("received_to", "登记日期止（received_to）不能早于起始日期。")
    dept = values.get("department", "")
    if dept:
        if not dept.isdigit() or not 1 <= int(dept) <= MAX_ID:
            raise _bad("department", "承办部门（department）应为部门编号。")
        if not await _department_exists(scope, int(dept)):
            # A well-formed id naming no department here: an unknown reference, answered
            # as everywhere else (422 unknown_department), not a malformed filter.
            raise InvalidInput("unknown_department", "承办部门不存在。", field="department")
        f = replace(f, department_id=int(dept))
    return f


async def _department_exists(scope: Scope, department_id: int) -> bool:
    async with scope.tx(write=False):
        return bool(await scope.exists(Department).where(Department.id == department_id))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TIMEZONE)


@dataclass(frozen=True)
class Today:
    """The office's today and what counts as due soon (the reminders' window)."""

    day: date
    soon_until: date
    staff_clocks_exclude: tuple[str, ...]
    """Clocks that are the petitioner's own windows (never overdue for staff)."""


async def today_of(scope: Scope, tenant: TenantInfo) -> Today:
    day = scope.rt.clock.now().astimezone(TIMEZONE).date()
    try:
        policy = Policy.from_settings(tenant.settings)
    except (TypeError, ValueError):
        policy = Policy()
    cal = await deadlines.work_calendar()
    pack = deadlines.pack_for(scope, tenant)
    return Today(day, horizon(day, cal, policy), tuple(sorted(pack.petitioner_windows)))


def _mine(who: Principal) -> Any:
    """Clocks this person answers for, as the reminders address them: theirs by name;
    else their department's; else (nobody named) the desk's."""
    cond: Any = CaseDeadline.responsible_user_id == who.user_id
    if who.department_id is not None:
        cond = cond | (
            CaseDeadline.responsible_user_id.is_null()
            & (CaseDeadline.responsible_department_id == who.department_id)
        )
    if "clerk" in who.roles:
        cond = cond | (
            CaseDeadline.responsible_user_id.is_null()
            & CaseDeadline.responsible_department_id.is_null()
        )
    return cond


def _clock_where(scope: Scope, today: Today, *, overdue: bool, soon: bool, mine: bool) -> Any:
    cond: Any = CaseDeadline.state == "open"
    if today.staff_clocks_exclude:
        cond = cond & CaseDeadline.clock.not_in(list(today.staff_clocks_exclude))
    if overdue:
        cond = cond & (CaseDeadline.due < today.day)
    if soon:
        cond = cond & (CaseDeadline.due >= today.day) & (CaseDeadline.due <= today.soon_until)
    if mine:
        cond = cond & _mine(scope.actor)
    return cond


def _clock_cases(scope: Scope, today: Today, *, overdue: bool, soon: bool, mine: bool) -> Any:
    where = _clock_where(scope, today, overdue=overdue, soon=soon, mine=mine)
    return scope.select(CaseDeadline, CaseDeadline.case_id).where(where)


def clocks_only(f: CaseFilter) -> bool:
    """Whether ``f`` asks only about running clocks (overdue, due soon, mine): then the
    matters can be counted from the clocks alone (``count_by_clocks``)."""
    clock_asked = f.overdue is True or f.due_soon or f.mine
    rest = replace(f, overdue=None, due_soon=False, mine=False, view=None, values={})
    return bool(clock_asked) and rest == CaseFilter()


async def count_by_clocks(scope: Scope, f: CaseFilter, today: Today, hidden: Any) -> int:
    """How many matters have a running clock as ``f`` asks (inside the caller's tx):
    distinct matters over the clock index, without visiting every matter."""
    where = _clock_where(scope, today, overdue=f.overdue is True, soon=f.due_soon, mine=f.mine)
    rows = await scope.select(
        CaseDeadline, Count(distinct=[CaseDeadline.case_id], alias="n")
    ).where(where & CaseDeadline.case_id.not_in(hidden))
    return int(rows[0]["n"]) if rows else 0


def _name_starts(prefix: str) -> Any:
    """Names beginning with ``prefix``. On PostgreSQL a range in code-point order
    (``COLLATE "C"``, as ``ix_visitor_name`` is built): unlike ``LIKE $1`` it stays an
    index range in the cached generic plan of a prepared statement."""
    if not is_postgres():
        return Visitor.name.like(f"{prefix}%")
    return WhereRaw(
        '"visitor"."name" COLLATE "C" >= {} AND "visitor"."name" COLLATE "C" < {}',
        prefix,
        prefix + "\U0010ffff",
    )


def conditions(scope: Scope, f: CaseFilter, today: Today) -> list[Any]:
    """The WHERE conditions on ``petition_case`` for ``f`` (the tenant's own are added
    by the scoped query they go into)."""
    out: list[Any] = []
    if f.statuses:
        out.append(
            PetitionCase.status == f.statuses[0]
            if len(f.statuses) == 1
            else PetitionCase.status.is_in(list(f.statuses))
        )
    for column, value in (
        (PetitionCase.category, f.category),
        (PetitionCase.channel, f.channel),
        (PetitionCase.visit_kind, f.visit_kind),
        (PetitionCase.department_id, f.department_id),
    ):
        if value is not None:
            out.append(column == value)
    if f.received_from:
        out.append(PetitionCase.received_at >= _start_of(f.received_from))
    if f.received_to:
        out.append(PetitionCase.received_at < _start_of(f.received_to + timedelta(days=1)))
    if f.q_kind == "receipt":
        out.append(PetitionCase.receipt_code == f.q)
    elif f.q_kind in ("id_number", "phone"):
        column = Visitor.id_number_hash if f.q_kind == "id_number" else Visitor.phone_hash
        people = scope.select(Visitor, Visitor.id).where(column.is_in(list(f.q_hashes)))
        out.append(PetitionCase.visitor_id.is_in(people))
    elif f.q_kind == "name":
        # From the start of the name (surname first, as a caller says it): a prefix the
        # tenant's name index serves (ix_visitor_name) — a name *inside* another would
        # read every person of the tenant.
        people = scope.select(Visitor, Visitor.id).where(_name_starts(f.q or ""))
        out.append(PetitionCase.visitor_id.is_in(people))
    if f.overdue is True or f.due_soon or f.mine:
        clocks = _clock_cases(scope, today, overdue=f.overdue is True, soon=f.due_soon, mine=f.mine)
        out.append(PetitionCase.id.is_in(clocks))
    if f.overdue is False:
        late = _clock_cases(scope, today, overdue=True, soon=False, mine=False)
        out.append(PetitionCase.id.not_in(late))
    if f.incoming:
        waiting = scope.select(CaseTransfer, CaseTransfer.case_id).where(
            (CaseTransfer.status == "pending") & CaseTransfer.direction.is_in(["in", "internal"])
        )
        out.append((PetitionCase.status == "transferring") & PetitionCase.id.is_in(waiting))
    return out


async def count_accepted(scope: Scope, start: date, end: date, hidden: Any) -> int:
    """How many matters were accepted (受理, or a transfer received) from ``start`` to
    ``end``: distinct matters over the events' index (inside the caller's tx)."""
    rows = await scope.select(CaseEvent, Count(distinct=[CaseEvent.case_id], alias="n")).where(
        CaseEvent.kind.is_in(["accept", "accept_transfer"])
        & (CaseEvent.at >= _start_of(start))
        & (CaseEvent.at < _start_of(end + timedelta(days=1)))
        & CaseEvent.case_id.not_in(hidden)
    )
    return int(rows[0]["n"]) if rows else 0


def closed_between(start: date, end: date) -> Any:
    return (PetitionCase.closed_at >= _start_of(start)) & (
        PetitionCase.closed_at < _start_of(end + timedelta(days=1))
    )
