"""Importing a year's official calendar (State Council notice), with a preview first.

The calendar is the deployment's (one State Council for every tenant): an import
replaces the year, recounts every open provisional clock touching it in every tenant
and re-plans provisional rota slots — ``xinfang calendar import`` and ``/admin/calendar``
both call :func:`apply_import`. The preview answers, before anything is written, which
of the importing tenant's running clocks would move (only the cases the admin may see)
and how many of its provisional rota slots would be re-planned."""

from __future__ import annotations

from datetime import date
from pathlib import PurePath
from typing import Any

from msgspec import Struct

from core.db.rota.tables import RotaSlot
from core.db.tables import CaseDeadline, PetitionCase
from core.domain.deadlines import compute_deadline
from core.domain.workcalendar import CalendarEntry, parse_calendar_import
from core.errors import PermissionDenied
from core.runtime import Runtime
from core.services import audit, calendar, deadlines, rota
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import hidden_from


class CalendarDay(Struct):
    date: date
    kind: str
    name: str


class DeadlineMove(Struct):
    case_id: int
    receipt_code: str
    clock: str
    clock_title: str
    old_due: date
    new_due: date
    still_provisional: bool
    """The clock also touches another year nobody imported yet."""


class CalendarPreview(Struct):
    year: int
    days: list[CalendarDay]
    official_before: bool
    """The year was imported before: this import replaces it."""
    moves: list[DeadlineMove]
    """Running clocks of the tenant whose due date changes, earliest new date first."""
    confirmed: int
    """Running provisional clocks whose due date stays (they become official)."""
    slots: int
    """Provisional rota slots of the tenant in that year, to be re-planned."""


def parse(data: bytes, filename: str) -> tuple[int, list[CalendarEntry]]:
    """A calendar file as uploaded: JSON by its extension, otherwise CSV (as the CLI)."""
    if PurePath(filename).suffix.lower() == ".json":
        return parse_calendar_import(data, "json")
    return parse_calendar_import(data, "csv")


async def preview(scope: Scope, year: int, entries: list[CalendarEntry]) -> CalendarPreview:
    """What importing ``entries`` as ``year`` would change for the scope's tenant."""
    tenant = await get_tenant(scope)
    pack = deadlines.pack_for(scope, tenant)
    current = await deadlines.work_calendar()
    after = current.with_year(year, entries)
    first, last = date(year, 1, 1), date(year, 12, 31)
    async with scope.tx(write=False):
        rows = (
            await scope.select(CaseDeadline, *deadlines.COLUMNS)
            .where(
                (CaseDeadline.state == "open")
                & CaseDeadline.provisional.eq(True)
                & CaseDeadline.case_id.not_in(hidden_from(scope.actor))
            )
            .output(load_json=True)
        )
        # The same clocks deadlines.recompute_provisional recounts.
        rows = [r for r in rows if r["started_on"].year <= year <= r["due"].year + 1]
        codes = {
            r["id"]: r["receipt_code"]
            for r in await scope.select(
                PetitionCase, PetitionCase.id, PetitionCase.receipt_code
            ).where(PetitionCase.id.is_in(sorted({r["case_id"] for r in rows}) or [0]))
        }
        slots = await scope.count(RotaSlot).where(
            RotaSlot.provisional.eq(True)
            & (RotaSlot.day >= first)
            & (RotaSlot.day <= last)
            & (RotaSlot.status != "cancelled")
        )
    moves, confirmed = [], 0
    for r in rows:
        pauses = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in r["pauses"] or []]
        new = compute_deadline(pack, r["clock"], r["started_on"], after, pauses, r["days"])
        if new.due == r["due"]:
            confirmed += 1
            continue
        rule = pack.clocks.get(r["clock"])
        moves.append(
            DeadlineMove(
                case_id=r["case_id"],
                receipt_code=codes.get(r["case_id"], ""),
                clock=r["clock"],
                clock_title=rule.title_zh if rule else r["clock"],
                old_due=r["due"],
                new_due=new.due,
                still_provisional=new.provisional,
            )
        )
    moves.sort(key=lambda m: (m.new_due, m.case_id))
    return CalendarPreview(
        year=year,
        days=[CalendarDay(e.day, e.kind, e.name) for e in sorted(entries, key=lambda e: e.day)],
        official_before=year in current.known_years,
        moves=moves,
        confirmed=confirmed,
        slots=slots,
    )


async def apply_import(
    rt: Runtime, year: int, entries: list[CalendarEntry], *, source: str
) -> tuple[int, int]:
    """Import the year for the deployment, recount the provisional clocks and re-plan the
    provisional slots of every tenant; (clocks recounted, slots changed)."""
    await calendar.import_year(rt, year, entries, source=source)
    recounted = await deadlines.recompute_provisional(rt, year, now=rt.clock.now())
    slots = await rota.reevaluate_provisional(rt, year)
    return recounted, slots


def may_import(scope: Scope) -> bool:
    """Whether this tenant's admins may change the deployment's calendar from the browser."""
    return scope.tenant_slug in scope.rt.settings.calendar_admins


async def import_calendar(
    scope: Scope, year: int, entries: list[CalendarEntry], *, filename: str
) -> CalendarPreview:
    """An admin's import: what it changes for their tenant (the preview, taken just
    before), then the import; recorded in the deployment's chain and the tenant's."""
    if not may_import(scope):
        raise PermissionDenied(
            "calendar_deployment_only",
            "工作日历为整个部署共用，会改变所有机构的期限：请由运维人员使用 "
            "“xinfang calendar import 文件”导入，或在 XINFANG_CALENDAR_ADMINS 中授权本机构。",
        )
    answer = await preview(scope, year, entries)
    source = f"admin:{scope.tenant_slug}:{PurePath(filename).name}"[:200]
    await apply_import(scope.rt, year, entries, source=source)
    detail: dict[str, Any] = {"days": len(entries), "moved": len(answer.moves)}
    await audit.append(
        scope.rt, scope.tenant_id, "calendar.imported", target=f"calendar:{year}", detail=detail
    )
    return answer
