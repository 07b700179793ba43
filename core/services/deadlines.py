"""Stored statutory clocks of cases (``case_deadline``): start, meet, pause, extend,
recompute — always inside the caller's tenant transaction, always recording how the
date was counted (pack, version, mode, steps). Counting needs the tenant's rule pack
and its plugins' clocks: those take the tenant's ``TenantInfo`` after the scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from msgspec import Struct

from core.db.tables import CaseDeadline, Tenant, WorkCalendarYear
from core.domain.deadlines import Deadline, Pause, compute_deadline
from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.services import events, sector
from core.services.calendar import load_calendar
from core.services.scope import Scope

COLUMNS = (
    CaseDeadline.id,
    CaseDeadline.case_id,
    CaseDeadline.clock,
    CaseDeadline.started_on,
    CaseDeadline.due,
    CaseDeadline.days,
    CaseDeadline.mode,
    CaseDeadline.pack,
    CaseDeadline.pack_version,
    CaseDeadline.provisional,
    CaseDeadline.pauses,
    CaseDeadline.steps,
    CaseDeadline.state,
    CaseDeadline.responsible_department_id,
    CaseDeadline.responsible_user_id,
    CaseDeadline.met_at,
)

_calendar_cache: dict[str, Any] = {"stamp": None, "calendar": None}


async def work_calendar() -> WorkCalendar:
    """The official calendar, reloaded whenever any process imported a year."""
    rows = await WorkCalendarYear.select(WorkCalendarYear.year, WorkCalendarYear.imported_at)
    stamp = tuple(sorted((r["year"], str(r["imported_at"])) for r in rows))
    if _calendar_cache["stamp"] != stamp:
        _calendar_cache["calendar"] = await load_calendar()
        _calendar_cache["stamp"] = stamp
    cal: WorkCalendar = _calendar_cache["calendar"]
    return cal


def pack_for(scope: Scope, tenant: TenantInfo) -> RulePack:
    """The tenant's rule pack plus the clocks its sector plugins add."""
    pack: RulePack = scope.rt.rule_pack(tenant.rule_pack)
    extra = sector.extra_clocks(scope, tenant)
    if not extra:
        return pack
    from dataclasses import replace

    return replace(pack, clocks={**pack.clocks, **extra})


async def explain(
    scope: Scope,
    pack_name: str,
    clock: str,
    start: date,
    pauses: Sequence[Pause] = (),
    days: int | None = None,
) -> Deadline:
    pack = scope.rt.rule_pack(pack_name)
    return compute_deadline(pack, clock, start, await work_calendar(), pauses, days)


class ClockOut(Struct):
    """A stored clock of a case with how it was counted (``case_deadline`` row)."""

    id: int
    case_id: int
    clock: str
    started_on: date
    due: date
    days: int
    mode: str
    pack: str
    pack_version: str
    provisional: bool
    pauses: list[list[str]]
    """Pauses taken out of the count, as ``[first, last]`` ISO days."""
    steps: list[str]
    """How the due day was counted, one line per step (zh)."""
    state: str
    responsible_department_id: int | None
    responsible_user_id: int | None
    met_at: datetime | None


def clock_out(row: dict[str, Any]) -> ClockOut:
    """A ``COLUMNS`` row as answered."""
    return ClockOut(**row)


class Explained(Struct):
    """A deadline computed on request, with each counting step."""

    clock: str
    start: date
    due: date
    days: int
    mode: str
    provisional: bool
    pack: str
    version: str
    pauses: list[list[str]]
    steps: list[str]


def explained(d: Deadline) -> Explained:
    return Explained(
        clock=d.clock,
        start=d.start,
        due=d.due,
        days=d.days,
        mode=d.mode,
        provisional=d.provisional,
        pack=d.pack,
        version=d.version,
        pauses=[[a.isoformat(), b.isoformat()] for a, b in d.pauses],
        steps=list(d.steps),
    )


async def start_clock(
    scope: Scope,
    tenant: TenantInfo,
    case_id: int,
    clock: str,
    start: date,
    *,
    now: datetime,
    days: int | None = None,
    pauses: Sequence[Pause] = (),
    department_id: int | None = None,
    user_id: int | None = None,
) -> Deadline:
    """Start ``clock`` for a case (call inside the scope's transaction)."""
    d = compute_deadline(pack_for(scope, tenant), clock, start, await work_calendar(), pauses, days)
    await _store(scope, case_id, d, now=now, department_id=department_id, user_id=user_id)
    return d


async def _store(
    scope: Scope,
    case_id: int,
    d: Deadline,
    *,
    now: datetime,
    department_id: int | None,
    user_id: int | None,
) -> None:
    await CaseDeadline.insert(
        CaseDeadline(
            tenant_id=scope.tenant_id,
            case_id=case_id,
            clock=d.clock,
            started_on=d.start,
            due=d.due,
            days=d.days,
            mode=d.mode,
            pack=d.pack,
            pack_version=d.version,
            provisional=d.provisional,
            pauses=[[a.isoformat(), b.isoformat()] for a, b in d.pauses],
            steps=list(d.steps),
            state="open",
            responsible_department_id=department_id,
            responsible_user_id=user_id,
            created_at=now,
            updated_at=now,
        )
    )


RUNNING = ("open", "paused")
"""Clock states still to be met: ``open`` runs (the tick reminds it), ``paused`` is stopped
by a hearing or appraisal until resumed, then superseded by a recount."""


async def open_clocks(scope: Scope, case_id: int) -> list[dict[str, Any]]:
    """The case's clocks still to be met, running or paused."""
    return list(
        await scope.select(CaseDeadline, *COLUMNS)
        .where((CaseDeadline.case_id == case_id) & CaseDeadline.state.is_in(list(RUNNING)))
        .order_by(CaseDeadline.id)
        .output(load_json=True)
    )


async def settle(
    scope: Scope,
    case_id: int,
    clocks: Sequence[str] | None,
    *,
    now: datetime,
    state: str = "met",
    met_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Mark the case's running or paused ``clocks`` (``None``: all of them) met,
    cancelled or superseded; ``met_at`` when it happened earlier than ``now`` (a notice
    recorded the day after it was given). Returns the rows settled (id, clock, due)."""
    if clocks is not None and not clocks:
        return []
    where = (CaseDeadline.case_id == case_id) & CaseDeadline.state.is_in(list(RUNNING))
    if clocks is not None:
        where = where & CaseDeadline.clock.is_in(list(clocks))
    return list(
        await scope.update(
            CaseDeadline,
            {
                CaseDeadline.state: state,
                CaseDeadline.met_at: met_at or now,
                CaseDeadline.updated_at: now,
            },
        )
        .where(where)
        .returning(CaseDeadline.id, CaseDeadline.clock, CaseDeadline.due)
    )


async def pause(scope: Scope, case_id: int, clocks: Sequence[str], *, now: datetime) -> None:
    """Stop the case's running ``clocks`` (hearing, appraisal): the tick reminds only
    ``open`` clocks; resuming supersedes each with a recount that excludes the pause."""
    await scope.update(
        CaseDeadline, {CaseDeadline.state: "paused", CaseDeadline.updated_at: now}
    ).where(
        (CaseDeadline.case_id == case_id)
        & (CaseDeadline.state == "open")
        & CaseDeadline.clock.is_in(list(clocks))
    )


async def recompute(
    scope: Scope,
    tenant: TenantInfo,
    row: dict[str, Any],
    *,
    now: datetime,
    pauses: Sequence[Pause] | None = None,
    days: int | None = None,
) -> Deadline:
    """Supersede an open clock with a recount (new pauses, days or calendar)."""
    current = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in row["pauses"] or []]
    d = compute_deadline(
        pack_for(scope, tenant),
        row["clock"],
        row["started_on"],
        await work_calendar(),
        current if pauses is None else list(pauses),
        days if days is not None else row["days"],
    )
    await scope.update(
        CaseDeadline, {CaseDeadline.state: "superseded", CaseDeadline.updated_at: now}
    ).where(CaseDeadline.id == row["id"])
    await _store(
        scope,
        row["case_id"],
        d,
        now=now,
        department_id=row["responsible_department_id"],
        user_id=row["responsible_user_id"],
    )
    return d


async def clocks_of_case(scope: Scope, case_id: int) -> list[ClockOut]:
    """Every clock of the case (running, met, superseded), oldest first."""
    async with scope.tx(write=False):
        rows = (
            await scope.select(CaseDeadline, *COLUMNS)
            .where(CaseDeadline.case_id == case_id)
            .order_by(CaseDeadline.id)
            .output(load_json=True)
        )
    return [clock_out(r) for r in rows]


async def recompute_provisional(rt: Runtime, year: int, *, now: datetime) -> int:
    """After a calendar import: recount every open clock that touched ``year`` while it
    was provisional, in every tenant, recording a ``deadline_recomputed`` event for each.
    Returns the number of clocks recounted."""
    from core.services.tenants import get_tenant

    every = await Tenant.select(Tenant.id, Tenant.slug)
    recounted = 0
    for t in every:
        scope = Scope.system(rt, t["id"], t["slug"])
        tenant = await get_tenant(scope)
        async with scope.tx():
            rows = (
                await scope.select(CaseDeadline, *COLUMNS)
                .where((CaseDeadline.state == "open") & (CaseDeadline.provisional.eq(True)))
                .output(load_json=True)
            )
            for row in rows:
                if not (row["started_on"].year <= year <= row["due"].year + 1):
                    continue
                new = await recompute(scope, tenant, row, now=now)
                recounted += 1
                await events.record_event(
                    scope,
                    row["case_id"],
                    "deadline_recomputed",
                    at=now,
                    data={
                        "clock": row["clock"],
                        "reason": f"导入 {year} 年工作日历",
                        "old_due": row["due"].isoformat(),
                        "new_due": new.due.isoformat(),
                        "provisional": new.provisional,
                    },
                )
    return recounted
