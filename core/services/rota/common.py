"""What the rota modules share: the slot row, the per-tenant lock, leader checks, leave."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from piccolo.query.methods.select import Select

from core.db.engine import get_engine, is_postgres
from core.db.rota.tables import LeaderLeave, RotaSlot
from core.db.tables import StaffUser
from core.domain.rota.model import HALF_ZH
from core.errors import InvalidInput
from core.services.rota.answers import RotaSlotOut
from core.services.scope import Scope

LOCK_CLASS = 60601  # pg_advisory_xact_lock(class, tenant_id): one generator per tenant

SLOT_COLUMNS = (
    RotaSlot.id,
    RotaSlot.template_id,
    RotaSlot.slot_key,
    RotaSlot.uid_key,
    RotaSlot.day,
    RotaSlot.original_day,
    RotaSlot.half,
    RotaSlot.position,
    RotaSlot.starts_at,
    RotaSlot.ends_at,
    RotaSlot.place,
    RotaSlot.topics,
    RotaSlot.role,
    RotaSlot.title,
    RotaSlot.leader_id,
    RotaSlot.standby_used,
    RotaSlot.provisional,
    RotaSlot.status,
    RotaSlot.sequence,
    RotaSlot.session_id,
    RotaSlot.note,
    RotaSlot.published_at,
    RotaSlot.updated_at,
)


def select_slots(scope: Scope) -> Select[Any]:
    """The scope's slots, every column of :class:`RotaSlotOut`; add ``where``/``order_by``."""
    return scope.select(RotaSlot, *SLOT_COLUMNS)


async def fetch_slots(query: Select[Any]) -> list[RotaSlotOut]:
    return [RotaSlotOut(**row) for row in await query.output(load_json=True)]


async def lock(scope: Scope) -> None:
    """Serialise generation per tenant (PostgreSQL; SQLite write transactions already are)."""
    if is_postgres():
        tid = int(scope.tenant_id)
        await get_engine().run_ddl(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {tid})")


async def check_leaders(scope: Scope, ids: Iterable[int], field: str) -> None:
    """Every id must be an active leader of the scope's tenant."""
    wanted = set(ids)
    if not wanted:
        return
    rows = (
        await scope.select(StaffUser, StaffUser.id, StaffUser.roles)
        .where(StaffUser.id.is_in(list(wanted)))
        .where(StaffUser.active.eq(True))
        .output(load_json=True)
    )
    ok = {r["id"] for r in rows if "leader" in (r["roles"] or [])}
    missing = sorted(wanted - ok)
    if missing:
        raise InvalidInput(
            "unknown_leader",
            f"人员 {missing[0]} 不存在、已停用或不是值班领导。",
            field=field,
            user_id=missing[0],
        )


async def leave_map(scope: Scope, start: date) -> dict[int, list[tuple[date, date]]]:
    """Leave ending on or after ``start``, per person (the domain's ``unavailable``)."""
    rows = await scope.select(
        LeaderLeave, LeaderLeave.user_id, LeaderLeave.first_day, LeaderLeave.last_day
    ).where(LeaderLeave.last_day >= start)
    out: dict[int, list[tuple[date, date]]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append((r["first_day"], r["last_day"]))
    return out


def when(slot: RotaSlotOut) -> str:
    """``2026-09-21 上午 08:30–11:30``: the slot's time in notices."""
    return (
        f"{slot.day.isoformat()} {HALF_ZH.get(slot.half, '')} "
        f"{slot.starts_at.strftime('%H:%M')}–{slot.ends_at.strftime('%H:%M')}"
    )


def summary(slot: RotaSlotOut) -> str:
    """When, what and where (the published notice and reminders say this)."""
    return f"{when(slot)}，{slot.title}，地点：{slot.place or '待定'}"
