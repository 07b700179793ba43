"""Rota jobs: generate slots up to each tenant's horizon and queue due reminders.

Both re-derive their work from the database and are idempotent (slot keys, outbox dedupe
keys), so arq's at-least-once delivery and missed cron runs are harmless: the next tick
catches up. Each job runs over every active tenant, one system scope per tenant.
"""

from __future__ import annotations

from typing import Any

from msgspec import structs

from core.runtime import Runtime
from core.services.rota.generation import generate_all
from core.services.rota.reminders import write_reminders_all


async def rota_generate(ctx: dict[str, Any]) -> dict[str, int]:
    """Create missing draft slots for every active tenant (idempotent)."""
    rt: Runtime = ctx["rt"]
    # arq pickles job results: a plain dict stays readable whatever the answer class becomes.
    return structs.asdict(await generate_all(rt))


async def rota_reminders(ctx: dict[str, Any]) -> int:
    """Queue the evening-before and morning-of reminders that are due (once each)."""
    rt: Runtime = ctx["rt"]
    return await write_reminders_all(rt)
