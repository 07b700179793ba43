"""Reception sessions (接待场次)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from core.db.tables import Department, PetitionCase, ReceptionSession, StaffUser
from core.errors import InvalidInput, NotFound
from core.schemas import SessionIn
from core.services import audit
from core.services.scope import Scope
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


async def create_session(scope: Scope, data: SessionIn) -> dict[str, Any]:
    rt = scope.rt
    first, last = schedule_window(rt.clock.today())
    check_day(data.day, first, last, field="day", what="接待日期")
    starts_at, ends_at = time.fromisoformat(data.starts_at), time.fromisoformat(data.ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("invalid_time_range", "结束时间必须晚于开始时间。", field="ends_at")
    now = rt.clock.now()
    async with scope.tx():
        if data.leader_id is not None:
            leader = (
                await scope.select(StaffUser, StaffUser.roles)
                .where(StaffUser.id == data.leader_id)
                .output(load_json=True)
                .first()
            )
            if leader is None or "leader" not in (leader["roles"] or []):
                raise InvalidInput(
                    "unknown_leader", "接待领导不存在或不是领导角色。", field="leader_id"
                )
        if data.department_id is not None and not await scope.exists(Department).where(
            Department.id == data.department_id
        ):
            raise InvalidInput("unknown_department", "部门不存在。", field="department_id")
        rows = await ReceptionSession.insert(
            ReceptionSession(
                tenant_id=scope.tenant_id,
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
        await audit.append(
            rt, scope.tenant_id, "session.created", target=f"session:{rows[0]['id']}"
        )
    return rows[0]


async def list_sessions(
    scope: Scope, *, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    query = scope.select(ReceptionSession, *COLUMNS)
    if start:
        query = query.where(ReceptionSession.day >= start)
    if end:
        query = query.where(ReceptionSession.day <= end)
    async with scope.tx(write=False):
        return (
            await query.order_by(ReceptionSession.day)
            .order_by(ReceptionSession.half)
            .output(load_json=True)
        )


async def get_session(scope: Scope, session_id: int) -> dict[str, Any]:
    async with scope.tx(write=False):
        row = (
            await scope.select(ReceptionSession, *COLUMNS)
            .where(ReceptionSession.id == session_id)
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("session_not_found", "接待场次不存在。")
        row["cases"] = await scope.select(
            PetitionCase, PetitionCase.id, PetitionCase.receipt_code, PetitionCase.status
        ).where(
            (PetitionCase.session_id == session_id)
            & PetitionCase.id.not_in(hidden_from(scope.actor))
        )
    return row
