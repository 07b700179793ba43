"""Every job function and cron job the worker runs. Jobs are at-least-once: each one is
idempotent and re-derives what is due from the database."""

from __future__ import annotations

from typing import Any

from arq import cron

from core.runtime import Runtime

HEARTBEAT_KEY = "xinfang:worker:heartbeat"


async def heartbeat(ctx: dict[str, Any]) -> str:
    """Record that a worker is alive (read by ``xinfang worker --check`` and /readyz)."""
    rt: Runtime = ctx["rt"]
    stamp = rt.clock.now().isoformat()
    await ctx["redis"].set(HEARTBEAT_KEY, stamp, ex=300)
    return stamp


FUNCTIONS: list[Any] = [heartbeat]
CRON_JOBS: list[Any] = [
    cron(heartbeat, second={0}, run_at_startup=True, unique=True, timeout=30, max_tries=1),
]
