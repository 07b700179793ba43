"""Case events and the notification outbox — always written in the caller's transaction.

``record_event`` and ``enqueue`` take the caller's scope and write for its tenant (the
rota, the lifecycle, registration and the plugins' facades each hold one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.db.tables import CaseEvent, Outbox
from core.services import audit
from core.services.scope import Scope


async def record_event(
    scope: Scope,
    case_id: int,
    kind: str,
    *,
    at: datetime,
    actor_id: int | None = None,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    rows = await CaseEvent.insert(
        CaseEvent(
            tenant_id=scope.tenant_id,
            case_id=case_id,
            kind=kind,
            actor_id=actor_id,
            from_status=from_status,
            to_status=to_status,
            data=data or {},
            at=at,
        )
    ).returning(CaseEvent.id)
    # Every case write is audited with its event; the event's data (free text) is not.
    await audit.append(
        scope.rt,
        scope.tenant_id,
        audit.case_action(kind),
        actor_id=actor_id,
        target=f"case:{case_id}",
        detail={"event_id": rows[0]["id"], "from": from_status, "to": to_status},
        at=at,
    )


async def enqueue(
    scope: Scope,
    kind: str,
    *,
    dedupe_key: str,
    at: datetime,
    payload: dict[str, Any],
    recipient_id: int | None = None,
    channel: str = "inbox",
    available_at: datetime | None = None,
) -> None:
    """Queue a notification once: the same (tenant, dedupe_key) is never queued twice."""
    await Outbox.insert(
        Outbox(
            tenant_id=scope.tenant_id,
            kind=kind,
            dedupe_key=dedupe_key,
            recipient_id=recipient_id,
            channel=channel,
            payload=payload,
            created_at=at,
            available_at=available_at or at,
        )
    ).on_conflict(target=(Outbox.tenant_id, Outbox.dedupe_key), action="DO NOTHING")


async def events_of(scope: Scope, case_id: int) -> list[dict[str, Any]]:
    return (
        await scope.select(
            CaseEvent,
            CaseEvent.id,
            CaseEvent.kind,
            CaseEvent.actor_id,
            CaseEvent.from_status,
            CaseEvent.to_status,
            CaseEvent.data,
            CaseEvent.at,
        )
        .where(CaseEvent.case_id == case_id)
        .order_by(CaseEvent.id)
        .output(load_json=True)
    )
