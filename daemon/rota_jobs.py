"""Rota jobs: generate slots up to each tenant's horizon and queue due reminders.

Both re-derive their work from the database and are idempotent (slot keys, outbox dedupe
keys), so arq's at-least-once delivery and missed cron runs are harmless: the next tick
catches up.
"""

from __future__ import annotations

from typing import Any

from core.runtime import Runtime
from core.services import rota


async def rota_generate(ctx: dict[str, Any]) -> dict[str, int]:
    """Create missing draft slots for every active tenant (idempotent)."""
    rt: Runtime = ctx["rt"]
    return await rota.generate_all(rt)


async def rota_reminders(ctx: dict[str, Any]) -> int:
    """Queue the evening-before and morning-of reminders that are due (once each)."""
    rt: Runtime = ctx["rt"]
    return await rota.write_reminders_all(rt)
