"""Leaders' leave: recorded; draft slots in the range go to a free standby, published
ones are reported as conflicts for a swap or an override."""

from __future__ import annotations

from datetime import date

from core.db.rota.tables import LeaderLeave, RotaChange, RotaSlot
from core.domain import rota as dr
from core.errors import InvalidInput, PermissionDenied
from core.services import audit
from core.services.rota.answers import LeaveOut, LeaveResult
from core.services.rota.common import check_leaders, fetch_slots, leave_map, lock, select_slots
from core.services.rota.schemas import LeaveIn
from core.services.rota.templates import domain_template, template_rows
from core.services.scope import Scope
from core.validation import check_day, schedule_window


async def add_leave(scope: Scope, data: LeaveIn) -> LeaveResult:
    """Record a leader's leave. Draft slots of theirs in the range go to a free standby (or
    another rotation leader); published ones are listed as ``conflicts`` (swap/override)."""
    me = scope.actor
    user_id = data.user_id or me.user_id
    if user_id != me.user_id and not me.has_any("admin", "supervisor"):
        raise PermissionDenied("leave_for_others", "只有管理员可以为他人登记请假。")
    first, last = schedule_window(scope.rt.clock.today())
    check_day(data.first_day, first, last, field="first_day", what="请假开始日期")
    check_day(data.last_day, first, last, field="last_day", what="请假结束日期")
    if data.last_day < data.first_day:
        raise InvalidInput(
            "leave_range_reversed", "请假结束日期不能早于开始日期。", field="last_day"
        )
    now = scope.rt.clock.now()
    reassigned: list[int] = []
    conflicts: list[int] = []
    async with scope.tx():
        await lock(scope)
        await check_leaders(scope, [user_id], "user_id")
        rows = await LeaderLeave.insert(
            LeaderLeave(
                tenant_id=scope.tenant_id,
                user_id=user_id,
                first_day=data.first_day,
                last_day=data.last_day,
                reason=data.reason,
                created_by=me.user_id,
                created_at=now,
            )
        ).returning(LeaderLeave.id)
        await audit.append(scope.rt, scope.tenant_id, "rota.leave_added", target=f"user:{user_id}")
        leave = await leave_map(scope, data.first_day)
        affected = await fetch_slots(
            select_slots(scope)
            .where(
                (RotaSlot.leader_id == user_id)
                & (RotaSlot.day >= data.first_day)
                & (RotaSlot.day <= data.last_day)
                & (RotaSlot.status != "cancelled")
            )
            .order_by(RotaSlot.day)
        )
        templates = {r["id"]: domain_template(r) for r in await template_rows(scope)}
        for slot in affected:
            if slot.status == "published":
                conflicts.append(slot.id)
                continue
            tpl = templates.get(slot.template_id)
            stand_in = _stand_in(tpl, slot.day, leave) if tpl else None
            if stand_in is None:
                conflicts.append(slot.id)
                continue
            await scope.update(
                RotaSlot,
                {
                    RotaSlot.leader_id: stand_in[0],
                    RotaSlot.standby_used: stand_in[1],
                    RotaSlot.note: "；".join(
                        x for x in (slot.note, "原定领导请假，由备班人员接待") if x
                    ),
                    RotaSlot.updated_at: now,
                },
            ).where(RotaSlot.id == slot.id)
            await RotaChange.insert(
                RotaChange(
                    tenant_id=scope.tenant_id,
                    slot_id=slot.id,
                    kind="leave",
                    status="applied",
                    from_leader_id=user_id,
                    to_leader_id=stand_in[0],
                    reason=data.reason or "请假",
                    requested_by=me.user_id,
                    decided_by=me.user_id,
                    created_at=now,
                    decided_at=now,
                )
            )
            reassigned.append(slot.id)
    return LeaveResult(
        id=rows[0]["id"],
        user_id=user_id,
        first_day=data.first_day,
        last_day=data.last_day,
        reassigned=reassigned,
        conflicts=conflicts,
    )


def _stand_in(
    tpl: dr.RotaTemplate, day: date, leave: dict[int, list[tuple[date, date]]]
) -> tuple[int, bool] | None:
    off = {pid for pid, ranges in leave.items() if any(a <= day <= b for a, b in ranges)}
    for pid in tpl.standby:
        if pid not in off:
            return pid, True
    return None


async def list_leave(scope: Scope) -> list[LeaveOut]:
    async with scope.tx(write=False):
        rows = await scope.select(LeaderLeave).order_by(LeaderLeave.first_day)
    return [LeaveOut(**r) for r in rows]
