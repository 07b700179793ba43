"""Generation: the missing draft slots of every active template up to its horizon,
planned by ``core.domain.rota.expand`` and stored as ``rota_slot`` rows (idempotent)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from core.db.engine import is_postgres
from core.db.rota.tables import RotaSlot, RotaTemplateRow
from core.db.tables import Tenant
from core.domain import rota as dr
from core.runtime import Runtime
from core.services.calendar import load_calendar
from core.services.rota.answers import GenerateAllResult, GenerateResult
from core.services.rota.common import leave_map, lock
from core.services.rota.templates import domain_template, rotation_state, state_json, template_rows
from core.services.scope import Scope


def _slot_row(
    tenant_id: int, template_id: int, role: str, title: str, s: dr.PlannedSlot, now: datetime
) -> RotaSlot:
    return RotaSlot(
        tenant_id=tenant_id,
        template_id=template_id,
        slot_key=s.key,
        uid_key=s.key,
        day=s.day,
        original_day=s.original_day,
        half=s.half,
        position=s.position,
        starts_at=s.start,
        ends_at=s.end,
        place=s.place,
        topics=list(s.topics),
        role=role,
        title=title,
        leader_id=s.leader_id,
        standby_used=s.standby_used,
        provisional=s.provisional,
        status="draft",
        sequence=0,
        note=s.note_zh,
        created_at=now,
        updated_at=now,
    )


_INSERT_COLUMNS = (
    "tenant_id, template_id, slot_key, uid_key, day, original_day, half, position, starts_at,"
    " ends_at, place, topics, role, title, leader_id, standby_used, provisional, status,"
    " sequence, note, created_at, updated_at"
)
_INSERT_SQL = (
    f"INSERT INTO rota_slot ({_INSERT_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8,"
    " $9, $10, $11::jsonb, $12, $13, $14, $15, $16, 'draft', 0, $17, $18, $18)"
)


async def _insert_slots(
    tx: Any,
    tenant_id: int,
    template_id: int,
    tpl: dr.RotaTemplate,
    slots: Sequence[dr.PlannedSlot],
    now: datetime,
) -> None:
    """Bulk insert. PostgreSQL: one prepared statement via executemany (Piccolo builds a
    multi-row statement in Python, ~10x slower for a year of slots; COPY is refused under
    row-level security); SQLite: Piccolo."""
    if is_postgres():
        await tx.connection.executemany(
            _INSERT_SQL,
            [
                (
                    tenant_id,
                    template_id,
                    s.key,
                    s.day,
                    s.original_day,
                    s.half,
                    s.position,
                    s.start,
                    s.end,
                    s.place,
                    json.dumps(list(s.topics), ensure_ascii=False),
                    tpl.role,
                    tpl.title_zh,
                    s.leader_id,
                    s.standby_used,
                    s.provisional,
                    s.note_zh,
                    now,
                )
                for s in slots
            ],
        )
        return
    await RotaSlot.insert(
        *[_slot_row(tenant_id, template_id, tpl.role, tpl.title_zh, s, now) for s in slots]
    )


async def generate(scope: Scope, *, calendar: Any = None) -> GenerateResult:
    """Create the missing draft slots of every active template up to its horizon.

    Idempotent: the stored slots and their leaders are passed as ``existing``, so a second
    run creates nothing, leaves unfilled what was unfilled and does not move the rotation
    state. Returns counts (created, unfilled).
    """
    now = scope.rt.clock.now()
    today = now.date()
    cal = calendar or await load_calendar()
    created = unfilled = 0
    async with scope.tx() as tx:
        await lock(scope)
        templates = await template_rows(scope, active_only=True)
        if not templates:
            return GenerateResult(created=0, unfilled=0)
        leave = await leave_map(scope, today)
        for row in templates:
            tpl = domain_template(row)
            state = rotation_state(row, today)
            # The domain refuses to plan a year before the carried state's year; slots of
            # an earlier year that are still missing then are left for a person.
            start = max(today, date(state.year, 1, 1))
            end = today + timedelta(weeks=row["horizon_weeks"])
            if end < start:
                continue
            # Stored slots and who holds them; a cancelled slot keeps its key, not its leader.
            existing = {
                r["slot_key"]: (None if r["status"] == "cancelled" else r["leader_id"])
                for r in await scope.select(
                    RotaSlot, RotaSlot.slot_key, RotaSlot.leader_id, RotaSlot.status
                ).where((RotaSlot.template_id == row["id"]) & (RotaSlot.day >= start))
            }
            result = dr.expand(tpl, cal, start, end, state, leave, existing)
            unfilled += len(result.unfilled)
            if result.slots:
                await _insert_slots(tx, scope.tenant_id, row["id"], tpl, result.slots, now)
                created += len(result.slots)
            if result.state != state or not row["state"]:
                await scope.update(
                    RotaTemplateRow,
                    {
                        RotaTemplateRow.state: state_json(result.state),
                        RotaTemplateRow.updated_at: now,
                    },
                ).where(RotaTemplateRow.id == row["id"])
    return GenerateResult(created=created, unfilled=unfilled)


async def generate_all(rt: Runtime) -> GenerateAllResult:
    """Generation for every active tenant (the worker's periodic job)."""
    cal = await load_calendar()
    totals = GenerateAllResult(tenants=0, created=0, unfilled=0)
    active = Tenant.select(Tenant.id, Tenant.slug).where(Tenant.active.eq(True))
    for t in await active.order_by(Tenant.id):
        res = await generate(Scope.system(rt, t["id"], t["slug"]), calendar=cal)
        totals.tenants += 1
        totals.created += res.created
        totals.unfilled += res.unfilled
    return totals
