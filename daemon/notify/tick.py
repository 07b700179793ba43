"""The deadline tick: re-derive from the tables what is due, write reminders + outbox rows.

Per tenant, in one ``tenant_tx`` (row-level security allows no other way):

1. PostgreSQL: ``pg_try_advisory_xact_lock`` on the tenant — a second worker skips it.
2. A *full* pass on the first tick of a Shanghai day (and the first one after the digest
   hour): every open clock whose due date is within the horizon. Otherwise an
   *incremental* pass: only rows changed since the last tick (minus a slack for
   transactions that committed late). Stages depend only on the date, so nothing can
   become due between full passes except through a changed row.
3. ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``reminder`` (unique per tenant,
   case, kind, due date); only the rows this tick created get outbox rows, in the same
   transaction, keyed ``reminder:<id>:<recipient>``. A crash anywhere rolls all of it
   back; the next tick derives the same set again. Nothing is lost or doubled.

Only ``open`` clocks are reminded (a ``paused`` one waits for its recount), never the
windows the rule pack marks as the petitioner's own, and never to a recipient the case
is hidden from (:mod:`daemon.notify.privacy`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from core.db import sql
from core.db.engine import is_postgres
from core.domain.reminders import Policy
from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar
from core.services.scope import Scope
from core.settings import TIMEZONE
from daemon.notify.audiences import Audiences, Staff, load_staff
from daemon.notify.candidates import DIGEST_ITEMS, Candidate, TickResult, _Run
from daemon.notify.scan import FLUSH_AT, _deadlines, _extensions, _transfers
from daemon.notify.writes import _digests, _flush, _save_state, _screening, write_outbox

__all__ = [
    "DIGEST_ITEMS",
    "FLUSH_AT",
    "LOCK_CLASS",
    "SLACK",
    "Audiences",
    "Candidate",
    "Staff",
    "TickResult",
    "load_staff",
    "tick_tenant",
    "write_outbox",
]

log = logging.getLogger(__name__)

LOCK_CLASS = 0x5846  # "XF": advisory-lock namespace of the tick
SLACK = timedelta(minutes=10)


async def tick_tenant(
    scope: Scope,
    tenant_settings: dict[str, Any] | None,
    cal: WorkCalendar,
    now: datetime,
    *,
    pack: RulePack,
    force_full: bool = False,
) -> TickResult:
    """One tick for the scope's tenant (a system scope: the daemon), in one transaction.
    ``pack``: the tenant's rule pack with its plugins' clocks (names of the clocks; the
    windows that are the petitioner's own)."""
    tenant_id = scope.tenant_id
    now = now.astimezone(TIMEZONE)
    today = now.date()
    try:
        policy = Policy.from_settings(tenant_settings)
    except (TypeError, ValueError):
        log.warning("tenant %s: invalid reminder settings, using defaults", tenant_id)
        policy = Policy()
    async with scope.tx():
        if is_postgres():
            got = await sql.fetch(
                "SELECT pg_try_advisory_xact_lock($1, $2) AS ok", LOCK_CLASS, tenant_id
            )
            if not got[0]["ok"]:
                return TickResult(tenant_id)
        state = await sql.fetch(
            "SELECT full_day, digest_day, last_tick_at FROM notify_tick_state WHERE tenant_id = $1",
            tenant_id,
        )
        st = state[0] if state else None
        digest_due = (
            policy.digest
            and now.hour >= policy.digest_hour
            and cal.is_workday(today)
            and (st is None or st["digest_day"] != today)
        )
        full = (
            force_full
            or st is None
            or st["full_day"] != today
            or st["last_tick_at"] is None
            or digest_due
        )
        since = None if full else st["last_tick_at"] - SLACK  # type: ignore[index]
        run = _Run(
            tenant_id,
            now,
            today,
            cal,
            policy,
            Audiences(await load_staff(scope)),
            pack,
            pack.petitioner_windows,
        )
        run.result = TickResult(tenant_id, mode="full" if full else "incremental")
        run.collect_digest = bool(digest_due)
        await _deadlines(run, since)
        await _transfers(run, since)
        await _extensions(run, since)
        await _flush(run)
        await _screening(run)
        if digest_due:
            await _digests(run)
        await _save_state(run, st is not None, full, bool(digest_due))
    return run.result
