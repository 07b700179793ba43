"""The facts the object-level checks (``core.domain.lifecycle.RELATIONS``, ``FOUR_EYES``)
need about a case: its assignee and their department *now*, and who made the step that
is waiting for approval. Read inside the caller's tenant transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.db.tables import CaseTransfer, StaffUser
from core.domain.lifecycle import Actor, CaseFacts
from core.principal import Principal
from core.services import events
from core.services.scope import Scope


def actor_of(p: Principal) -> Actor:
    return Actor(p.user_id, p.roles, p.department_id)


async def case_facts(
    scope: Scope, case: Mapping[str, Any], *, history: list[dict[str, Any]] | None = None
) -> CaseFacts:
    """``case`` needs id, status, assignee_id, department_id and flags."""
    assignee = case["assignee_id"]
    unit = case["department_id"]
    if assignee is not None:
        row = (
            await scope.select(StaffUser, StaffUser.department_id)
            .where(StaffUser.id == assignee)
            .first()
        )
        unit = row["department_id"] if row else None
    flags = case.get("flags") or {}
    assignment = flags.get("assignment") or {}
    extension = flags.get("extension_request") or {}
    makers: dict[str, int | None] = {
        "assigned_by": assignment.get("by"),
        "assignment_handler": assignment.get("handler_id"),
        "extension_requested_by": extension.get("requested_by"),
        "assignee": assignee,
    }
    if case["status"] == "reported":
        # The append-only log says who reported; the latest report is the one under review.
        log = history if history is not None else await events.events_of(scope, case["id"])
        reports = [e for e in log if e["kind"] == "report"]
        makers["reported_by"] = reports[-1]["actor_id"] if reports else None
    pending_contact = await scope.exists(CaseTransfer).where(
        (CaseTransfer.case_id == case["id"])
        & (CaseTransfer.direction == "in")
        & (CaseTransfer.contact_state == "pending")
    )
    return CaseFacts(
        assignee_id=assignee,
        unit_department_id=unit,
        makers=makers,
        pending_contact=bool(pending_contact),
    )
