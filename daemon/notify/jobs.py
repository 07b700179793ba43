"""arq jobs of the notification side. At-least-once: each run re-derives from the tables.

Tenants are visited one at a time, each with its own system scope and in its own
transaction (row-level security on PostgreSQL scopes a transaction to exactly one
tenant). Job arguments and results carry
ids and counts only — no personal data goes through Redis.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.db.tables import Tenant
from core.runtime import Runtime
from core.services import deadlines
from core.services.calendar import load_calendar
from core.services.scope import Scope
from core.services.tenants import get_tenant
from daemon.notify.deliver import deliver_tenant
from daemon.notify.tick import tick_tenant

log = logging.getLogger(__name__)


async def active_tenants(only: list[int] | None = None) -> list[dict[str, Any]]:
    query = Tenant.select(Tenant.id, Tenant.slug, Tenant.settings).where(Tenant.active.eq(True))
    if only:
        query = query.where(Tenant.id.is_in(only))
    return await query.order_by(Tenant.id).output(load_json=True)


async def run_tick(
    rt: Runtime, *, tenants: list[int] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """One deadline tick over every active tenant, then deliver what it queued."""
    now = now or rt.clock.now()
    cal = await load_calendar()
    totals = {"tenants": 0, "scanned": 0, "reminders": 0, "notifications": 0, "digests": 0}
    for t in await active_tenants(tenants):
        scope = Scope.system(rt, t["id"], t["slug"])
        try:
            res = await tick_tenant(
                scope,
                t["settings"],
                cal,
                now,
                pack=deadlines.pack_for(scope, await get_tenant(scope)),
            )
        except Exception:  # one tenant's failure must not starve the others
            log.exception("tick failed for tenant %s", t["id"])
            continue
        totals["tenants"] += 1
        for key in ("scanned", "reminders", "notifications", "digests"):
            totals[key] += getattr(res, key)
    totals["delivered"] = (await run_deliver(rt, tenants=tenants, now=now))["inbox"]
    return totals


async def run_deliver(
    rt: Runtime, *, tenants: list[int] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Deliver every pending outbox row of every active tenant."""
    now = now or rt.clock.now()
    totals: dict[str, Any] = {"inbox": 0, "sent": {}, "failed": 0}
    for t in await active_tenants(tenants):
        try:
            res = await deliver_tenant(Scope.system(rt, t["id"], t["slug"]), t["settings"], now)
        except Exception:
            log.exception("delivery failed for tenant %s", t["id"])
            continue
        totals["inbox"] += res.inbox
        totals["failed"] += res.failed
        for ch, n in res.sent.items():
            totals["sent"][ch] = totals["sent"].get(ch, 0) + n
    return totals


async def notify_tick(ctx: dict[str, Any], tenants: list[int] | None = None) -> dict[str, Any]:
    """arq job: the periodic deadline tick (cron every 5 minutes and at start-up)."""
    return await run_tick(ctx["rt"], tenants=tenants)


async def notify_deliver(ctx: dict[str, Any], tenants: list[int] | None = None) -> dict[str, Any]:
    """arq job: outbox delivery (cron every minute; other services' rows too)."""
    return await run_deliver(ctx["rt"], tenants=tenants)
