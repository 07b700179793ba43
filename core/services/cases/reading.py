"""Reading cases: the list (keyset pages) and one case in full, only as the acting
person may see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from core.db.tables import CaseDeadline, CaseParticipant, PetitionCase, Visitor
from core.domain.lifecycle import allowed_actions, status_zh
from core.errors import NotFound
from core.plugins import TenantInfo
from core.schemas import CHANNEL_ZH
from core.services import deadlines, events, sector
from core.services.cases import search
from core.services.cases.answers import (
    CaseDetail,
    CaseEventOut,
    CaseListItem,
    CasePage,
    CaseVisitor,
    ContactCopyOut,
    MatterBrief,
    Representative,
    VisitorBrief,
)
from core.services.cases.search import CaseFilter
from core.services.relations import actor_of, case_facts
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import hidden_from, matters_of, visible
from core.services.visitors import LIST_COLUMNS as VISITOR_COLUMNS
from core.services.visitors import transfer_contact_of, visitor_out

LIST_COLUMNS = (
    PetitionCase.id,
    PetitionCase.receipt_code,
    PetitionCase.channel,
    PetitionCase.visit_kind,
    PetitionCase.headcount,
    PetitionCase.is_group,
    PetitionCase.category,
    PetitionCase.purpose,
    PetitionCase.legal_category,
    PetitionCase.locality,
    PetitionCase.status,
    PetitionCase.urgency,
    PetitionCase.department_id,
    PetitionCase.visitor_id,
    PetitionCase.received_at,
    PetitionCase.closed_at,
    PetitionCase.first_contact_closed,
)
DETAIL_COLUMNS = (
    *LIST_COLUMNS,
    PetitionCase.cause,
    PetitionCase.demand,
    PetitionCase.form,
    PetitionCase.flags,
    PetitionCase.opinion,
    PetitionCase.session_id,
    PetitionCase.first_department_id,
    PetitionCase.repeat_of_id,
    PetitionCase.assigned_from_above,
    PetitionCase.review_level,
    PetitionCase.opinion_at,
    PetitionCase.archive_volume_id,
    PetitionCase.archived_at,
    PetitionCase.assignee_id,
    PetitionCase.version,
)


def _channel_zh(channel: str) -> str:
    return CHANNEL_ZH.get(channel, channel)


async def list_cases(
    scope: Scope,
    *,
    after: int | None = None,
    limit: int = 50,
    status: str | None = None,
    filters: CaseFilter | None = None,
    tenant: TenantInfo | None = None,
    today: search.Today | None = None,
) -> CasePage:
    """Newest first, keyset-paginated on (tenant_id, id) — never OFFSET; only the cases
    the acting person may see, narrowed by ``filters`` (``search.parse_filter``)."""
    tenant = tenant or await get_tenant(scope)
    today = today or await search.today_of(scope, tenant)
    f = filters or CaseFilter()
    if status:
        f = replace(f, statuses=(status,))
    query = list_query(scope, f, today, after=after, limit=limit)
    async with scope.tx(write=False):
        rows = await query
        due = await _nearest_due(scope, [r["id"] for r in rows[:limit]], today)
    items = [_list_item(row, due.get(row["id"]), today.day) for row in rows[:limit]]
    next_after = items[-1].id if len(rows) > limit else None
    return CasePage(items=items, next_after=next_after)


def list_query(
    scope: Scope, f: CaseFilter, today: search.Today, *, after: int | None, limit: int
) -> Any:
    """The SELECT of one list page (``limit`` + 1 rows, to know whether more follow)."""
    query = scope.select(
        PetitionCase,
        *LIST_COLUMNS,
        PetitionCase.visitor_id.name,
        PetitionCase.visitor_id.id_number_masked,
        PetitionCase.visitor_id.phone_masked,
    )
    query = query.where(PetitionCase.id.not_in(hidden_from(scope.actor)))
    for condition in search.conditions(scope, f, today):
        query = query.where(condition)
    if after is not None:
        query = query.where(PetitionCase.id < after)
    # ORDER BY tenant_id too (one value here): only the tenant-leading indexes deliver that
    # order, so PostgreSQL never walks the primary key backwards through other tenants.
    return (
        query.order_by(PetitionCase.tenant_id, PetitionCase.id, ascending=False)
        .limit(limit + 1)
        .output(load_json=True)
    )


async def find_cases(
    scope: Scope,
    raw: Mapping[str, str | None],
    *,
    after: int | None = None,
    limit: int = 50,
) -> tuple[CaseFilter, CasePage]:
    """The list as the page and the API ask for it: query parameters as text, checked
    (``invalid_filter``, 400), then one keyset page."""
    async with scope.tx(write=False):  # one transaction: the steps below join it
        tenant = await get_tenant(scope)
        f = await search.parse_filter(scope, tenant, raw)
        page = await list_cases(scope, after=after, limit=limit, filters=f, tenant=tenant)
    return f, page


async def count_cases(
    scope: Scope,
    filters: CaseFilter | None = None,
    *extra: Any,
    tenant: TenantInfo | None = None,
    today: search.Today | None = None,
) -> int:
    """How many matters the list with ``filters`` (and ``extra`` conditions) holds for
    the acting person."""
    tenant = tenant or await get_tenant(scope)
    today = today or await search.today_of(scope, tenant)
    if filters is not None and not extra and search.clocks_only(filters):
        async with scope.tx(write=False):
            return await search.count_by_clocks(scope, filters, today, hidden_from(scope.actor))
    query = scope.count(PetitionCase).where(PetitionCase.id.not_in(hidden_from(scope.actor)))
    for condition in [*search.conditions(scope, filters or CaseFilter(), today), *extra]:
        query = query.where(condition)
    async with scope.tx(write=False):
        return int(await query)


async def _nearest_due(scope: Scope, case_ids: list[int], today: search.Today) -> dict[int, date]:
    """Earliest due date of each case's running staff clocks (inside the caller's tx)."""
    if not case_ids:
        return {}
    cond = (CaseDeadline.case_id.is_in(case_ids)) & (CaseDeadline.state == "open")
    if today.staff_clocks_exclude:
        cond = cond & CaseDeadline.clock.not_in(list(today.staff_clocks_exclude))
    out: dict[int, date] = {}
    for r in await scope.select(CaseDeadline, CaseDeadline.case_id, CaseDeadline.due).where(cond):
        if r["case_id"] not in out or r["due"] < out[r["case_id"]]:
            out[r["case_id"]] = r["due"]
    return out


def _list_item(row: dict[str, Any], due: date | None, today: date) -> CaseListItem:
    name = row.pop("visitor_id.name")
    id_number = row.pop("visitor_id.id_number_masked")
    phone = row.pop("visitor_id.phone_masked")
    return CaseListItem(
        **row,
        visitor_name=name,
        visitor_id_number_masked=id_number,
        visitor_phone_masked=phone,
        channel_zh=_channel_zh(row["channel"]),
        visitor=VisitorBrief(
            id=row["visitor_id"], name=name, id_number=id_number or None, phone=phone or None
        ),
        status_zh=status_zh(row["status"]),
        nearest_due=due,
        overdue=due is not None and due < today,
    )


async def get_case(scope: Scope, case_id: int) -> CaseDetail:
    """The case as the acting person may see it (404 when hidden from them)."""
    actor = scope.actor
    async with scope.tx(write=False):
        row = (
            await scope.select(PetitionCase, *DETAIL_COLUMNS)
            .where(PetitionCase.id == case_id)
            .output(load_json=True)
            .first()
        )
        if row is None or not await visible(scope, case_id):
            raise NotFound("case_not_found", "信访事项不存在。")
        visitor = (
            await scope.select(Visitor, *VISITOR_COLUMNS)
            .where(Visitor.id == row["visitor_id"])
            .output(load_json=True)
            .first()
        )
        reps = await scope.select(
            CaseParticipant,
            CaseParticipant.name,
            CaseParticipant.role,
            CaseParticipant.id_number_masked,
            CaseParticipant.phone_masked,
        ).where(CaseParticipant.case_id == case_id)
        history = await events.events_of(scope, case_id)
        earlier = await matters_of(scope, row["visitor_id"], exclude=case_id, limit=20)
        clocks = await deadlines.open_clocks(scope, case_id)
        facts = await case_facts(scope, {**row, "id": case_id}, history=history)
        contact_copy = await transfer_contact_of(scope, case_id, row["flags"])
    row = {**row, "form": await sector.reveal_form(scope, case_id, row.get("form"))}
    return CaseDetail(
        **row,
        channel_zh=_channel_zh(row["channel"]),
        visitor=CaseVisitor(**visitor_out(visitor)) if visitor else None,
        representatives=[
            Representative(
                name=r["name"],
                role=r["role"],
                id_number=r["id_number_masked"] or None,
                phone=r["phone_masked"] or None,
            )
            for r in reps
        ],
        events=[CaseEventOut(**e) for e in history],
        transfer_contact=ContactCopyOut(**contact_copy) if contact_copy else None,
        earlier_matters=[MatterBrief(**m) for m in earlier],
        deadlines=[deadlines.clock_out(c) for c in clocks],
        status_zh=status_zh(row["status"]),
        allowed_actions=allowed_actions(
            row["status"], actor.roles, actor=actor_of(actor), case=facts
        ),
    )
