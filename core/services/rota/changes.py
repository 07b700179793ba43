"""Changes to slots: one place applies them (``change_slot``: SEQUENCE + 1 and notices
once published), and the recorded kinds that use it: swaps (a leader asks, an admin
decides) and overrides (an admin reassigns or cancels)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import structs

from core import links
from core.db.rota.tables import RotaChange, RotaSlot
from core.db.tables import ReceptionSession
from core.domain import rota as dr
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.services import audit
from core.services.events import enqueue
from core.services.rota.answers import RotaChangeOut, RotaSlotOut
from core.services.rota.common import check_leaders, fetch_slots, select_slots, when
from core.services.rota.schemas import OverrideIn, SwapIn
from core.services.scope import Scope


async def slot_for_update(scope: Scope, slot_id: int) -> RotaSlotOut:
    found = await fetch_slots(select_slots(scope).where(RotaSlot.id == slot_id))
    if not found:
        raise NotFound("slot_not_found", "排班时段不存在。")
    return found[0]


async def change_slot(
    scope: Scope,
    slot: RotaSlotOut,
    *,
    why: str,
    leader_id: int | None = None,
    cancel: bool = False,
    move_to: dr.PlannedSlot | None = None,
    confirm: bool = False,
) -> RotaSlotOut:
    """Apply one change to a slot row (and its reception session); published slots get
    SEQUENCE + 1 and notify the old and new leader (once per SEQUENCE). Returns the slot
    as the caller shows it: new leader, status, day and SEQUENCE."""
    now = scope.rt.clock.now()
    published = slot.status == "published"
    seq = slot.sequence + (1 if published else 0)
    values: dict[Any, Any] = {RotaSlot.updated_at: now, RotaSlot.sequence: seq}
    session: dict[Any, Any] = {ReceptionSession.updated_at: now, ReceptionSession.sequence: seq}
    new = structs.replace(slot, sequence=seq)
    if leader_id is not None:
        values[RotaSlot.leader_id] = leader_id
        values[RotaSlot.standby_used] = False
        session[ReceptionSession.leader_id] = leader_id
        new.leader_id = leader_id
    if cancel:
        values[RotaSlot.status] = "cancelled"
        session[ReceptionSession.status] = "cancelled"
        new.status = "cancelled"
    if move_to is not None:
        values.update(
            {
                RotaSlot.day: move_to.day,
                RotaSlot.slot_key: move_to.key,
                RotaSlot.original_day: move_to.original_day,
                RotaSlot.note: move_to.note_zh,
                RotaSlot.provisional: move_to.provisional,
            }
        )
        session.update(
            {
                ReceptionSession.day: move_to.day,
                ReceptionSession.note: move_to.note_zh,
                ReceptionSession.provisional: move_to.provisional,
            }
        )
        new.day = move_to.day
    if confirm:
        values[RotaSlot.provisional] = False
        session[ReceptionSession.provisional] = False
    await scope.update(RotaSlot, values).where(RotaSlot.id == slot.id)
    if slot.session_id is not None:
        await scope.update(ReceptionSession, session).where(ReceptionSession.id == slot.session_id)
    if published and not confirm:
        await _notify(scope, slot, new, why=why, cancel=cancel, moved=move_to is not None, now=now)
    return new


async def _notify(
    scope: Scope,
    old: RotaSlotOut,
    new: RotaSlotOut,
    *,
    why: str,
    cancel: bool,
    moved: bool,
    now: datetime,
) -> None:
    """Tell the old and the new leader of a published slot what changed."""
    if cancel:
        title, body = "接访排班已取消", f"{when(old)} 的{old.title}已取消。原因：{why}"
    elif moved:
        title = "接访排班日期调整"
        body = f"{old.title}由 {when(old)} 调整为 {when(new)}。原因：{why}"
    else:
        title = "接访排班人员调整"
        body = f"{when(old)} 的{old.title}接待领导已调整。原因：{why}"
    recipients = {old.leader_id, new.leader_id} - {None}
    for user in sorted(r for r in recipients if r is not None):
        await enqueue(
            scope,
            "rota.changed",
            dedupe_key=f"rota.changed:{old.uid_key}:{new.sequence}:{user}",
            at=now,
            payload={"title": title, "body": body, "link": links.MY_ROTA},
            recipient_id=user,
            channel="inbox",
        )


async def _change(scope: Scope, change_id: int) -> RotaChangeOut | None:
    row = (
        await scope.select(RotaChange)
        .where(RotaChange.id == change_id)
        .output(load_json=True)
        .first()
    )
    return None if row is None else RotaChangeOut(**row)


async def request_swap(scope: Scope, slot_id: int, data: SwapIn) -> RotaChangeOut:
    """A leader asks to hand a published slot of theirs to another leader."""
    me = scope.actor
    now = scope.rt.clock.now()
    async with scope.tx():
        slot = await slot_for_update(scope, slot_id)
        if slot.leader_id != me.user_id:
            raise PermissionDenied("not_your_slot", "只能为本人的接访时段申请调换。")
        if slot.status != "published":
            raise Conflict("slot_not_published", "只有已发布的接访时段才需申请调换。")
        if data.to_leader_id == me.user_id:
            raise InvalidInput("swap_with_self", "不能与本人调换。", field="to_leader_id")
        await check_leaders(scope, [data.to_leader_id], "to_leader_id")
        if await scope.exists(RotaChange).where(
            (RotaChange.slot_id == slot_id) & (RotaChange.status == "requested")
        ):
            raise Conflict("swap_pending", "该时段已有待审批的调换申请。")
        rows = await RotaChange.insert(
            RotaChange(
                tenant_id=scope.tenant_id,
                slot_id=slot_id,
                kind="swap",
                status="requested",
                from_leader_id=me.user_id,
                to_leader_id=data.to_leader_id,
                reason=data.reason,
                requested_by=me.user_id,
                data={"sequence": slot.sequence},
                created_at=now,
            )
        ).returning(RotaChange.id)
        await audit.append(
            scope.rt, scope.tenant_id, "rota.swap_requested", target=f"slot:{slot_id}"
        )
        change = await _change(scope, rows[0]["id"])
    assert change is not None
    return change


async def decide_swap(scope: Scope, change_id: int, *, approve: bool) -> RotaChangeOut:
    """An admin approves (the slot changes hands, SEQUENCE + 1) or rejects a swap."""
    me = scope.actor
    now = scope.rt.clock.now()
    async with scope.tx():
        change = await _change(scope, change_id)
        if change is None or change.kind != "swap":
            raise NotFound("change_not_found", "调换申请不存在。")
        if change.status != "requested":
            raise Conflict("change_already_decided", "该调换申请已处理。")
        slot = await slot_for_update(scope, change.slot_id)
        if approve:
            if slot.status != "published" or slot.leader_id != change.from_leader_id:
                raise Conflict("slot_changed_since_request", "该时段在申请后已变更，请重新申请。")
            assert change.to_leader_id is not None  # a swap always names who takes over
            await check_leaders(scope, [change.to_leader_id], "to_leader_id")
            new = await change_slot(
                scope, slot, why=f"调换：{change.reason}", leader_id=change.to_leader_id
            )
            data = {**(change.data or {}), "sequence": new.sequence}
        else:
            data = change.data or {}
        status = "approved" if approve else "rejected"
        await scope.update(
            RotaChange,
            {
                RotaChange.status: status,
                RotaChange.decided_by: me.user_id,
                RotaChange.decided_at: now,
                RotaChange.data: data,
            },
        ).where(RotaChange.id == change_id)
        await audit.append(
            scope.rt, scope.tenant_id, f"rota.swap_{status}", target=f"slot:{change.slot_id}"
        )
    return structs.replace(change, status=status, decided_by=me.user_id, data=data)


async def override(scope: Scope, slot_id: int, data: OverrideIn) -> RotaSlotOut:
    """An admin reassigns or cancels a slot directly; recorded with who, when and why."""
    if data.cancel == (data.leader_id is not None):
        raise InvalidInput(
            "override_needs_one_action",
            "请指定新的接待领导或取消该时段（二选一）。",
            field="leader_id",
        )
    me = scope.actor
    now = scope.rt.clock.now()
    async with scope.tx():
        slot = await slot_for_update(scope, slot_id)
        if slot.status == "cancelled":
            raise Conflict("slot_cancelled", "该时段已取消。")
        if data.leader_id is not None:
            await check_leaders(scope, [data.leader_id], "leader_id")
        new = await change_slot(
            scope, slot, why=data.reason, leader_id=data.leader_id, cancel=data.cancel
        )
        await RotaChange.insert(
            RotaChange(
                tenant_id=scope.tenant_id,
                slot_id=slot_id,
                kind="override",
                status="applied",
                from_leader_id=slot.leader_id,
                to_leader_id=None if data.cancel else data.leader_id,
                reason=data.reason,
                requested_by=me.user_id,
                decided_by=me.user_id,
                data={"cancel": data.cancel, "sequence": new.sequence},
                created_at=now,
                decided_at=now,
            )
        )
        await audit.append(
            scope.rt,
            scope.tenant_id,
            "rota.override",
            target=f"slot:{slot_id}",
            detail={"cancel": data.cancel, "leader_id": data.leader_id},
        )
    return new


async def list_changes(scope: Scope, *, status: str | None = None) -> list[RotaChangeOut]:
    q = scope.select(RotaChange)
    if status:
        q = q.where(RotaChange.status == status)
    async with scope.tx(write=False):
        rows = await q.order_by(RotaChange.id).output(load_json=True)
    return [RotaChangeOut(**r) for r in rows]
