"""One handling step from request to commit: load the case, check the version, the
state machine, the roles and the object-level relations (``core.domain.lifecycle``:
RELATIONS, FOUR_EYES), let the sector plugins refuse, run the step, save, record the
event — all in one transaction, or nothing."""

from __future__ import annotations

from typing import Any

import msgspec

from core.db.tables import PetitionCase
from core.domain import lifecycle
from core.errors import Conflict, InvalidInput, NotFound
from core.schemas import ActionIn
from core.services import events, petitioner, sector
from core.services.cases import CaseDetail, get_case
from core.services.lifecycle import archive, handling, notices, review, transfer
from core.services.lifecycle.context import Ctx, Step
from core.services.relations import actor_of, case_facts
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import visible

CASE_COLUMNS = (
    PetitionCase.id,
    PetitionCase.receipt_code,
    PetitionCase.status,
    PetitionCase.version,
    PetitionCase.visitor_id,
    PetitionCase.department_id,
    PetitionCase.assignee_id,
    PetitionCase.category,
    PetitionCase.channel,
    PetitionCase.headcount,
    PetitionCase.purpose,
    PetitionCase.legal_category,
    PetitionCase.locality,
    PetitionCase.cause,
    PetitionCase.demand,
    PetitionCase.form,
    PetitionCase.flags,
    PetitionCase.received_at,
    PetitionCase.closed_at,
    PetitionCase.opinion,
    PetitionCase.opinion_at,
    PetitionCase.review_level,
    PetitionCase.assigned_from_above,
)


async def _load(scope: Scope, case_id: int) -> dict[str, Any]:
    row = (
        await scope.select(PetitionCase, *CASE_COLUMNS)
        .where(PetitionCase.id == case_id)
        .output(load_json=True)
        .first()
    )
    if row is None or not await visible(scope, case_id):
        raise NotFound("case_not_found", "信访事项不存在。")
    return dict(row)  # ``form`` stays sealed: plugins see masked PII only


async def perform(
    scope: Scope,
    case_id: int,
    action: str,
    data: ActionIn,
    *,
    notice: notices.Notice | None = None,
) -> CaseDetail:
    """One handling step by the acting person, all of it in one transaction (joins the
    caller's, if any)."""
    if action == "notify" and notice is None:
        raise InvalidInput(
            "notice_required",
            "登记书面告知请填写告知方式（channel）和告知日期（given_on）。",
            field="channel",
        )
    rt, actor = scope.rt, scope.actor
    tenant = await get_tenant(scope)
    now = rt.clock.now()
    async with scope.tx():
        case = await _load(scope, case_id)
        if data.version is not None and data.version != case["version"]:
            raise Conflict(
                "stale_case",
                "该事项已被他人更新，请刷新后重试。",
                field="version",
                current_version=case["version"],
            )
        step = lifecycle.plan(case["status"], action, actor.roles)
        lifecycle.check_relation(
            action,
            actor_of(actor),
            await case_facts(scope, case),
            named_handler=data.handler_id if action == "start_handling" else None,
        )
        payload = _payload(data) if notice is None else notice.payload()
        await sector.before_transition(scope, tenant, case, action, payload)
        ctx = Ctx(scope, tenant, case, data, now, step.to_status, notice)
        event_data = await STEPS[action](ctx)
        await ctx.save()
        await events.record_event(
            scope,
            case_id,
            action,
            at=now,
            actor_id=actor.user_id,
            from_status=case["status"],
            to_status=ctx.to_status,
            data=event_data,
        )
        await petitioner.tell(scope, tenant, case, action, event_data, at=now)
        case["status"] = ctx.to_status
        await sector.case_event(scope, tenant, case, action, event_data)
    return await get_case(scope, case_id)


def _payload(data: ActionIn) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(data)
    return out


STEPS: dict[str, Step] = {
    **handling.STEPS,
    **notices.STEPS,
    **transfer.STEPS,
    **review.STEPS,
    **archive.STEPS,
}
"""The step of each action (``core.domain.lifecycle.ACTIONS``), by module."""
assert set(STEPS) == set(lifecycle.ACTIONS), set(lifecycle.ACTIONS) ^ set(STEPS)
