"""Reminders: the evening before and the morning of each published slot, once each."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from core import links
from core.db.rota.tables import RotaSlot
from core.db.tables import Tenant
from core.runtime import Runtime
from core.services.events import enqueue
from core.services.rota.common import fetch_slots, select_slots, summary
from core.services.scope import Scope
from core.settings import TIMEZONE

EVE_REMINDER_AT = time(16, 0)
MORNING_REMINDER_AT = time(7, 30)


async def write_reminders(scope: Scope) -> int:
    """Queue the reminders due now: the evening before (from 16:00) and the morning of
    (from 07:30) each published slot, until it starts. Keyed by UID, SEQUENCE and kind,
    so re-running writes nothing new and a changed slot reminds its new leader once."""
    now = scope.rt.clock.now()
    today = now.date()
    due = 0
    async with scope.tx():
        slots = await fetch_slots(
            select_slots(scope).where(
                (RotaSlot.status == "published")
                & (RotaSlot.day >= today)
                & (RotaSlot.day <= today + timedelta(days=1))
            )
        )
        for s in slots:
            if s.leader_id is None:
                continue
            starts = datetime.combine(s.day, s.starts_at, tzinfo=TIMEZONE)
            eve = datetime.combine(s.day - timedelta(days=1), EVE_REMINDER_AT, tzinfo=TIMEZONE)
            morning = datetime.combine(s.day, MORNING_REMINDER_AT, tzinfo=TIMEZONE)
            if eve <= now < morning:
                kind, title = "eve", "明日接访提醒"
            elif morning <= now < starts:
                kind, title = "morning", "今日接访提醒"
            else:
                continue
            body = summary(s)
            if s.topics:
                body += f"，主题：{'、'.join(s.topics)}"
            await enqueue(
                scope,
                "rota.reminder",
                dedupe_key=f"rota.remind:{s.uid_key}:{s.sequence}:{kind}",
                at=now,
                payload={"title": title, "body": body, "link": links.MY_ROTA},
                recipient_id=s.leader_id,
                channel="inbox",
            )
            due += 1
    return due


async def write_reminders_all(rt: Runtime) -> int:
    """Reminders for every active tenant (the worker's periodic job)."""
    total = 0
    active = Tenant.select(Tenant.id, Tenant.slug).where(Tenant.active.eq(True))
    for t in await active.order_by(Tenant.id):
        total += await write_reminders(Scope.system(rt, t["id"], t["slug"]))
    return total
