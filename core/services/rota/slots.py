"""Slots: listing, and publishing drafts as reception sessions (frozen from then on)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

from core import links
from core.db.rota.tables import RotaSlot
from core.db.tables import ReceptionSession
from core.errors import NotFound
from core.services import audit
from core.services.events import enqueue
from core.services.rota.answers import PublishResult, RotaSlotOut
from core.services.rota.common import fetch_slots, lock, select_slots, summary
from core.services.rota.schemas import PublishIn
from core.services.scope import Scope


async def list_slots(
    scope: Scope,
    *,
    start: date | None = None,
    end: date | None = None,
    status: str | None = None,
    leader_id: int | None = None,
) -> list[RotaSlotOut]:
    q = select_slots(scope)
    if start:
        q = q.where(RotaSlot.day >= start)
    if end:
        q = q.where(RotaSlot.day <= end)
    if status:
        q = q.where(RotaSlot.status == status)
    if leader_id:
        q = q.where(RotaSlot.leader_id == leader_id)
    async with scope.tx(write=False):
        return await fetch_slots(
            q.order_by(RotaSlot.day)
            .order_by(RotaSlot.half)
            .order_by(RotaSlot.template_id)
            .order_by(RotaSlot.position)
        )


async def get_slot(scope: Scope, slot_id: int) -> RotaSlotOut:
    """One slot of the scope's tenant (404 for another tenant's or none)."""
    async with scope.tx(write=False):
        found = await fetch_slots(select_slots(scope).where(RotaSlot.id == slot_id))
    if not found:
        raise NotFound("slot_not_found", "排班时段不存在。")
    return found[0]


def _uid_seq(slot: RotaSlotOut) -> str:
    return f"{slot.uid_key}#{slot.sequence}"


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


async def publish(scope: Scope, data: PublishIn) -> PublishResult:
    """Publish the draft slots from today (up to ``until``): they become reception sessions,
    frozen from now on; each leader is told once about their newly published slots."""
    now = scope.rt.clock.now()
    tid = scope.tenant_id
    async with scope.tx():
        await lock(scope)
        q = select_slots(scope).where((RotaSlot.status == "draft") & (RotaSlot.day >= now.date()))
        if data.until:
            q = q.where(RotaSlot.day <= data.until)
        drafts = await fetch_slots(q.order_by(RotaSlot.day))
        if not drafts:
            return PublishResult(published=0)
        sessions = await ReceptionSession.insert(
            *[
                ReceptionSession(
                    tenant_id=tid,
                    day=s.day,
                    half=s.half,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    place=s.place,
                    topics=s.topics,
                    kind=s.role,
                    leader_id=s.leader_id,
                    status="published",
                    provisional=s.provisional,
                    slot_key=s.uid_key,
                    sequence=s.sequence,
                    note=s.note,
                    created_at=now,
                    updated_at=now,
                )
                for s in drafts
            ]
        ).returning(ReceptionSession.id, ReceptionSession.slot_key)
        await audit.append(scope.rt, tid, "rota.published", detail={"slots": len(drafts)})
        session_of = {r["slot_key"]: r["id"] for r in sessions}
        for s in drafts:
            await scope.update(
                RotaSlot,
                {
                    RotaSlot.status: "published",
                    RotaSlot.session_id: session_of[s.uid_key],
                    RotaSlot.published_at: now,
                    RotaSlot.updated_at: now,
                },
            ).where(RotaSlot.id == s.id)
        by_leader: dict[int, list[RotaSlotOut]] = {}
        for s in drafts:
            if s.leader_id is not None:
                by_leader.setdefault(s.leader_id, []).append(s)
        for leader, slots in by_leader.items():
            lines = [summary(s) for s in slots]
            if any(s.provisional for s in slots):
                lines.append("标注“临时”的日期所在年度工作日历尚未导入，日期可能调整。")
            await enqueue(
                scope,
                "rota.published",
                dedupe_key=f"rota.published:{leader}:{_digest(_uid_seq(s) for s in slots)}",
                at=now,
                payload={
                    "title": f"接访排班已发布（{len(slots)} 个时段）",
                    "body": "\n".join(lines),
                    "link": links.MY_ROTA,
                },
                recipient_id=leader,
                channel="inbox",
            )
    return PublishResult(published=len(drafts))
