"""Reception sessions (接待场次)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from core.db.engine import tenant_tx
from core.db.tables import Department, PetitionCase, ReceptionSession, StaffUser
from core.errors import InvalidInput, NotFound
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import SessionIn
from core.services import audit
from core.services.visibility import hidden_from
from core.validation import check_day, schedule_window

COLUMNS = (
    ReceptionSession.id,
    ReceptionSession.day,
    ReceptionSession.half,
    ReceptionSession.starts_at,
    ReceptionSession.ends_at,
    ReceptionSession.place,
    ReceptionSession.topics,
    ReceptionSession.kind,
    ReceptionSession.leader_id,
    ReceptionSession.department_id,
    ReceptionSession.status,
    ReceptionSession.provisional,
    ReceptionSession.sequence,
    ReceptionSession.note,
)


async def create_session(rt: Runtime, tenant_id: int, data: SessionIn) -> dict[str, Any]:
    first, last = schedule_window(rt.clock.today())
    check_day(data.day, first, last, field="day", what="接待日期")
    starts_at, ends_at = time.fromisoformat(data.starts_at), time.fromisoformat(data.ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("invalid_time_range", "结束时间必须晚于开始时间。", field="ends_at")
    now = rt.clock.now()
    async with tenant_tx(tenant_id):
        if data.leader_id is not None:
            leader = (
                await StaffUser.select(StaffUser.roles)
                .where((StaffUser.tenant_id == tenant_id) & (StaffUser.id == data.leader_id))
                .output(load_json=True)
                .first()
            )
            if leader is None or "leader" not in (leader["roles"] or []):
                raise InvalidInput(
                    "unknown_leader", "接待领导不存在或不是领导角色。", field="leader_id"
                )
        if data.department_id is not None and not await Department.exists().where(
            (Department.tenant_id == tenant_id) & (Department.id == data.department_id)
        ):
            raise InvalidInput("unknown_department", "部门不存在。", field="department_id")
        rows = await ReceptionSession.insert(
            ReceptionSession(
                tenant_id=tenant_id,
                day=data.day,
                half=data.half,
                starts_at=starts_at,
                ends_at=ends_at,
                place=data.place,
                topics=data.topics,
                kind=data.kind,
                leader_id=data.leader_id,
                department_id=data.department_id,
                note=data.note,
                status="draft",
                created_at=now,
                updated_at=now,
            )
        ).returning(*COLUMNS)
        await audit.append(rt, tenant_id, "session.created", target=f"session:{rows[0]['id']}")
    return rows[0]


async def list_sessions(
    rt: Runtime, tenant_id: int, *, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    query = ReceptionSession.select(*COLUMNS).where(ReceptionSession.tenant_id == tenant_id)
    if start:
        query = query.where(ReceptionSession.day >= start)
    if end:
        query = query.where(ReceptionSession.day <= end)
    async with tenant_tx(tenant_id, write=False):
        return (
            await query.order_by(ReceptionSession.day)
            .order_by(ReceptionSession.half)
            .output(load_json=True)
        )


async def get_session(rt: Runtime, actor: Principal, session_id: int) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    async with tenant_tx(tenant_id, write=False):
        row = (
            await ReceptionSession.select(*COLUMNS)
            .where((ReceptionSession.tenant_id == tenant_id) & (ReceptionSession.id == session_id))
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("session_not_found", "接待场次不存在。")
        row["cases"] = await PetitionCase.select(
            PetitionCase.id, PetitionCase.receipt_code, PetitionCase.status
        ).where(
            (PetitionCase.tenant_id == tenant_id)
            & (PetitionCase.session_id == session_id)
            & PetitionCase.id.not_in(hidden_from(actor))
        )
    return row
