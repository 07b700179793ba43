"""Reading cases: the list (keyset pages) and one case in full, only as the acting
person may see them."""

from __future__ import annotations

from typing import Any, overload

from core.db.tables import CaseParticipant, PetitionCase, Visitor
from core.domain.lifecycle import STATUS_ZH, allowed_actions
from core.errors import NotFound
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import CHANNEL_ZH
from core.services import deadlines, events, sector
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


def case_out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in row if not k.startswith("visitor.")}
    out["channel_zh"] = CHANNEL_ZH.get(row["channel"], row["channel"])
    return out


async def list_cases(
    scope: Scope,
    *,
    after: int | None = None,
    limit: int = 50,
    status: str | None = None,
) -> dict[str, Any]:
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
    items = []
    for row in rows[:limit]:
        item = case_out(row)
        item["visitor"] = {
            "id": row["visitor_id"],
            "name": row["visitor_id.name"],
            "id_number": row["visitor_id.id_number_masked"] or None,
            "phone": row["visitor_id.phone_masked"] or None,
        }
        items.append(item)
    next_after = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_after": next_after}


@overload
async def get_case(scope: Scope, case_id: int, /) -> dict[str, Any]: ...


@overload
async def get_case(scope: Runtime, case_id: Principal, legacy_case_id: int, /) -> dict[str, Any]:
    """TODO(#12): the police plugin's routes still call ``get_case(rt, principal,
    case_id)``; this shape goes when the plugin door gives plugins a scope."""


async def get_case(scope: Any, case_id: Any, *legacy: int) -> dict[str, Any]:
    """The case as the acting person may see it (404 when hidden from them)."""
    if not isinstance(scope, Scope):
        scope, case_id = Scope.of(scope, case_id), legacy[0]
    actor = scope.actor
    async with scope.tx(write=False):
        row = (
            await scope.select(
                PetitionCase,
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
    out = case_out(row)
    out["visitor"] = visitor_out(visitor) if visitor else None
    out["representatives"] = [
        {
            "name": r["name"],
            "role": r["role"],
            "id_number": r["id_number_masked"] or None,
            "phone": r["phone_masked"] or None,
        }
        for r in reps
    ]
    out["events"] = history
    out["transfer_contact"] = contact_copy
    out["earlier_matters"] = earlier
    out["deadlines"] = [deadlines.deadline_out(c) for c in clocks]
    out["status_zh"] = STATUS_ZH.get(row["status"], row["status"])
    out["allowed_actions"] = allowed_actions(
        row["status"], actor.roles, actor=actor_of(actor), case=facts
    )
    return out
