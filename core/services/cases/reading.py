"""Reading cases: the list (keyset pages) and one case in full, only as the acting
person may see them."""

from __future__ import annotations

from typing import Any

from core.db.tables import CaseParticipant, PetitionCase, Visitor
from core.domain.lifecycle import allowed_actions, status_zh
from core.errors import NotFound
from core.schemas import CHANNEL_ZH
from core.services import deadlines, events, sector
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
from core.services.relations import actor_of, case_facts
from core.services.scope import Scope
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
) -> CasePage:
    """Newest first, keyset-paginated on (tenant_id, id) — never OFFSET; only the cases
    the acting person may see."""
    query = scope.select(
        PetitionCase,
        *LIST_COLUMNS,
        PetitionCase.visitor_id.name,
        PetitionCase.visitor_id.id_number_masked,
        PetitionCase.visitor_id.phone_masked,
    )
    query = query.where(PetitionCase.id.not_in(hidden_from(scope.actor)))
    if status:
        query = query.where(PetitionCase.status == status)
    if after is not None:
        query = query.where(PetitionCase.id < after)
    async with scope.tx(write=False):
        rows = (
            await query.order_by(PetitionCase.id, ascending=False)
            .limit(limit + 1)
            .output(load_json=True)
        )
    items = [_list_item(row) for row in rows[:limit]]
    next_after = items[-1].id if len(rows) > limit else None
    return CasePage(items=items, next_after=next_after)


def _list_item(row: dict[str, Any]) -> CaseListItem:
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
