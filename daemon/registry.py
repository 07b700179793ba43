"""Every job function and cron job the worker runs. Jobs are at-least-once: each one is
idempotent and re-derives what is due from the database."""

from __future__ import annotations

from typing import Any

from arq import cron

from core.redis import HEARTBEAT_KEY
from core.runtime import Runtime


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Record that a worker is alive (read by ``xinfang worker --check``)."""
    rt: Runtime = ctx["rt"]
    stamp = rt.clock.now().isoformat()
    await ctx["redis"].set(HEARTBEAT_KEY, stamp, ex=300)
    return stamp


FUNCTIONS: list[Any] = [heartbeat]
CRON_JOBS: list[Any] = [
    cron(heartbeat, second={0}, run_at_startup=True, unique=True, timeout=30, max_tries=1),
]

# Rota (daemon/rota_jobs.py): generation hourly and at start-up, reminders every 5 minutes.
from daemon.rota_jobs import rota_generate, rota_reminders  # noqa: E402

FUNCTIONS += [rota_generate, rota_reminders]
CRON_JOBS += [
    cron(rota_generate, minute={7}, run_at_startup=True, unique=True, timeout=600, max_tries=1),
    cron(
        rota_reminders,
        minute=set(range(0, 60, 5)),
        second={30},
        unique=True,
        timeout=300,
        max_tries=1,
    ),
]

# Deadlines, escalation, notifications (daemon/notify/jobs.py): the tick every 5 minutes
# and at start-up (catches up after downtime), outbox delivery every minute.
from daemon.notify.jobs import notify_deliver, notify_tick  # noqa: E402

FUNCTIONS += [notify_tick, notify_deliver]
CRON_JOBS += [
    cron(
        notify_tick,
        minute=set(range(1, 60, 5)),
        second={0},
        run_at_startup=True,
        unique=True,
        timeout=1800,
        max_tries=1,
    ),
    cron(notify_deliver, second={15}, unique=True, timeout=600, max_tries=1),
]

# Audit (daemon/audit_jobs.py): the chain heads leave the database once a day.
from daemon.audit_jobs import audit_export_heads  # noqa: E402

FUNCTIONS += [audit_export_heads]
CRON_JOBS += [
    cron(
        audit_export_heads,
        hour={0},
        minute={10},
        run_at_startup=True,
        unique=True,
        timeout=600,
        max_tries=1,
    ),
]
