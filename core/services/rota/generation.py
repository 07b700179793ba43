"""Generation: the missing draft slots of every active template up to its horizon,
planned by ``core.domain.rota.expand`` and stored as ``rota_slot`` rows (idempotent)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.db.engine import is_postgres
from core.db.rota.tables import RotaSlot, RotaTemplateRow
from core.db.tables import Tenant
from core.domain import rota as dr
from core.runtime import Runtime
from core.services.calendar import load_calendar
from core.services.rota.answers import (
    GenerateAllResult,
    GeneratePreview,
    GenerateResult,
    PreviewSkipped,
    PreviewSlot,
)
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


@dataclass(frozen=True)
class _Planned:
    row: dict[str, Any]
    template: dr.RotaTemplate
    state: dr.RotaState
    result: dr.ExpansionResult


async def _plan(scope: Scope, cal: Any, today: date) -> list[_Planned]:
    """What generation would create now, per active template (inside a transaction)."""
    planned: list[_Planned] = []
    templates = await template_rows(scope, active_only=True)
    if not templates:
        return planned
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
        planned.append(_Planned(row, tpl, state, result))
    return planned


async def generate(scope: Scope, *, calendar: Any = None) -> GenerateResult:
    """Create the missing draft slots of every active template up to its horizon.

    Idempotent: the stored slots and their leaders are passed as ``existing``, so a second
    run creates nothing, leaves unfilled what was unfilled and does not move the rotation
    state. Returns counts (created, unfilled).
    """
    now = scope.rt.clock.now()
    cal = calendar or await load_calendar()
    created = unfilled = 0
    async with scope.tx() as tx:
        await lock(scope)
        for p in await _plan(scope, cal, now.date()):
            unfilled += len(p.result.unfilled)
            if p.result.slots:
                await _insert_slots(
                    tx, scope.tenant_id, p.row["id"], p.template, p.result.slots, now
                )
                created += len(p.result.slots)
            if p.result.state != p.state or not p.row["state"]:
                await scope.update(
                    RotaTemplateRow,
                    {
                        RotaTemplateRow.state: state_json(p.result.state),
                        RotaTemplateRow.updated_at: now,
                    },
                ).where(RotaTemplateRow.id == p.row["id"])
    return GenerateResult(created=created, unfilled=unfilled)


def _preview_slot(template_id: int, s: dr.PlannedSlot | dr.UnfilledSlot) -> PreviewSlot:
    return PreviewSlot(
        template_id=template_id,
        key=s.key,
        day=s.day,
        original_day=s.original_day,
        half=s.half,
        position=s.position,
        start=s.start.strftime("%H:%M"),
        end=s.end.strftime("%H:%M"),
        leader_id=s.leader_id if isinstance(s, dr.PlannedSlot) else None,
        standby_used=s.standby_used if isinstance(s, dr.PlannedSlot) else False,
        provisional=s.provisional,
        place=s.place,
        topics=list(s.topics),
        note=s.note_zh,
    )


def _order(s: PreviewSlot) -> tuple[date, str, int, int]:
    return (s.day, s.start, s.template_id, s.position)


async def preview_generation(scope: Scope, *, calendar: Any = None) -> GeneratePreview:
    """What :func:`generate` would create now, without storing anything: the slots with
    their leaders, the slots nobody is free for (``unfilled``: leave, no standby) and the
    pattern days that give no slot (``skipped``: holidays under ``skip``, merged, moved
    outside the window), each with the calendar's note."""
    today = scope.rt.clock.today()
    cal = calendar or await load_calendar()
    slots: list[PreviewSlot] = []
    unfilled: list[PreviewSlot] = []
    skipped: list[PreviewSkipped] = []
    until: date | None = None
    async with scope.tx(write=False):
        for p in await _plan(scope, cal, today):
            tid = p.row["id"]
            last = today + timedelta(weeks=p.row["horizon_weeks"])
            until = max(until, last) if until else last
            slots.extend(_preview_slot(tid, s) for s in p.result.slots)
            unfilled.extend(_preview_slot(tid, s) for s in p.result.unfilled)
            skipped.extend(
                PreviewSkipped(
                    template_id=tid,
                    original_day=k.original_day,
                    reason=k.reason,
                    moved_to=k.moved_to,
                    note=k.note_zh,
                )
                for k in p.result.skipped
            )
    return GeneratePreview(
        start=today,
        until=until,
        slots=sorted(slots, key=_order),
        unfilled=sorted(unfilled, key=_order),
        skipped=sorted(skipped, key=lambda k: (k.original_day, k.template_id)),
    )


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
