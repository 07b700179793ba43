"""Calendar re-evaluation: once a year's official calendar is imported, the provisional
slots of that year are confirmed, moved per their rota's holiday policy or cancelled."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.db.rota.tables import RotaChange, RotaSlot
from core.db.tables import Tenant
from core.domain import rota as dr
from core.runtime import Runtime
from core.services.calendar import load_calendar
from core.services.rota.changes import change_slot
from core.services.rota.common import fetch_slots, lock, select_slots
from core.services.rota.generation import generate
from core.services.rota.templates import domain_template, template_rows
from core.services.scope import Scope

# Per template: the planned slots by key, and those moved off a rest day by original day.
_Plan = tuple[dict[str, dr.PlannedSlot], dict[tuple[date, str, int], dr.PlannedSlot]]


async def reevaluate_provisional(rt: Runtime, year: int) -> int:
    """Re-plan the provisional slots of ``year`` for every tenant now that the year's
    official calendar is known. A slot whose day stays a slot day is confirmed; one whose
    day became a rest day moves per the rota's holiday policy or is cancelled (drafts are
    deleted). Published slots that move or cancel get SEQUENCE + 1 and notify their
    leader. Returns the number of slots moved, cancelled or deleted."""
    cal = await load_calendar()
    changed = 0
    for t in await Tenant.select(Tenant.id, Tenant.slug).order_by(Tenant.id):
        changed += await _reevaluate_tenant(Scope.system(rt, t["id"], t["slug"]), year, cal)
    return changed


def _plan(row: dict[str, Any], cal: Any, year: int) -> _Plan:
    # Only which days carry slots matters here, not who is assigned.
    first, last = date(year, 1, 1), date(year, 12, 31)
    res = dr.expand(domain_template(row), cal, first, last, dr.RotaState(year=year))
    return (
        {s.key: s for s in res.slots},
        {(s.original_day, s.half, s.position): s for s in res.slots if s.original_day},
    )


async def _reevaluate_tenant(scope: Scope, year: int, cal: Any) -> int:
    changed = 0
    first, last = date(year, 1, 1), date(year, 12, 31)
    async with scope.tx():
        await lock(scope)
        slots = await fetch_slots(
            select_slots(scope)
            .where(
                RotaSlot.provisional.eq(True)
                & (RotaSlot.day >= first)
                & (RotaSlot.day <= last)
                & (RotaSlot.status != "cancelled")
            )
            .order_by(RotaSlot.day)
        )
        if not slots:
            return 0
        templates = {r["id"]: r for r in await template_rows(scope)}
        taken = {
            r["slot_key"]
            for r in await scope.select(RotaSlot, RotaSlot.slot_key).where(
                (RotaSlot.day >= first) & (RotaSlot.day <= last)
            )
        }
        plans: dict[int, _Plan] = {}
        for slot in slots:
            row = templates.get(slot.template_id)
            if row is None:
                continue
            if row["id"] not in plans:
                plans[row["id"]] = _plan(row, cal, year)
            by_key, by_origin = plans[row["id"]]
            planned = by_key.get(slot.slot_key)
            if planned is not None and planned.original_day is None:
                await change_slot(scope, slot, why="工作日历已导入", confirm=True)
                continue
            origin = slot.original_day or slot.day
            target = by_origin.get((origin, slot.half, slot.position))
            if target is not None and target.key not in taken:
                taken.discard(slot.slot_key)
                taken.add(target.key)
                why = f"{year} 年工作日历已导入：{target.note_zh}"
                await change_slot(scope, slot, why=why, move_to=target)
            elif slot.status == "draft":
                await scope.delete(RotaSlot).where(RotaSlot.id == slot.id)
            else:
                why = f"{year} 年工作日历已导入，{cal.describe(slot.day)}不安排接待"
                await change_slot(scope, slot, why=why, cancel=True)
            changed += 1
            await RotaChange.insert(
                RotaChange(
                    tenant_id=scope.tenant_id,
                    slot_id=slot.id,
                    kind="calendar",
                    status="applied",
                    from_leader_id=slot.leader_id,
                    to_leader_id=slot.leader_id,
                    reason=f"{year} 年工作日历导入",
                    data={"from_day": slot.day.isoformat()},
                    created_at=scope.rt.clock.now(),
                    decided_at=scope.rt.clock.now(),
                )
            )
    await generate(scope, calendar=cal)
    return changed
