"""Outbox → in-app inbox (always), email (when SMTP is configured and the user has an
address) and plugin channels (``xinfang_notify``: SMS, WeCom …).

Phase 1, per batch in one ``tenant_tx``: lock pending outbox rows (PostgreSQL:
``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint rows; SQLite: the
immediate transaction makes writers take turns), insert one ``inbox_message`` per row
(unique per tenant and outbox row) with the cases it is about (``inbox_message_case``,
so the inbox re-checks them at every read), insert ``notify_delivery`` rows for the
outside channels, mark the outbox rows sent. All of it commits together or not at all.

Phase 2, per delivery row: lock it, send, mark it sent in the same transaction. A worker
killed after the send and before the commit sends it again (outside systems cannot take
part in our transaction); emails carry a stable Message-ID for that case.

Both phases first ask whether the recipient may see the cases the message is about
(:mod:`daemon.notify.privacy`, the case page's rule, evaluated now): a message about a
检举控告 never reaches the accused — no inbox message, no e-mail, no SMS.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from core.db import sql
from core.db.engine import is_postgres
from core.domain.notices import cases_of, load_payload
from core.links import absolute
from core.runtime import Runtime
from core.services.scope import Scope
from core.settings import MailSettings
from core.timefmt import shanghai
from daemon.notify.privacy import CaseSecrecy, principal_of

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 8


@dataclass
class DeliverResult:
    inbox: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    failed: int = 0


def external_channels(rt: Runtime, tenant_settings: dict[str, Any] | None) -> list[str]:
    """Email when SMTP is configured, plus the tenant's plugin channels
    (``tenant.settings["notify"]["channels"]``, e.g. ``["sms", "wecom"]``)."""
    out = ["email"] if rt.settings.mail.host else []
    conf = (tenant_settings or {}).get("notify") or {}
    for ch in conf.get("channels") or []:
        if isinstance(ch, str) and ch not in ("inbox", "email") and ch not in out:
            out.append(ch)
    return out


async def deliver_tenant(
    scope: Scope, tenant_settings: dict[str, Any] | None, now: datetime
) -> DeliverResult:
    """Deliver the scope's tenant's pending outbox rows (a system scope: the daemon)."""
    result = DeliverResult()
    channels = external_channels(scope.rt, tenant_settings)
    while await _phase_one(scope, now, channels, result):
        pass
    if channels:
        await _phase_two(scope, now, result)
    return result


async def _phase_one(
    scope: Scope, now: datetime, channels: list[str], result: DeliverResult
) -> bool:
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    tenant_id, keys = scope.tenant_id, scope.rt.keys
    async with scope.tx():
        rows = await sql.fetch(
            "SELECT id, kind, recipient_id, payload FROM outbox"
            " WHERE tenant_id = $1 AND sent_at IS NULL AND available_at <= $2"
            f" ORDER BY id LIMIT {BATCH}{lock}",
            tenant_id,
            now,
        )
        if not rows:
            return False
        users = await _users(scope, {r["recipient_id"] for r in rows if r["recipient_id"]})
        secrecy = CaseSecrecy()
        await secrecy.load(principal_of(keys, u["slug"], u) for u in users.values())
        inbox: list[tuple[Any, ...]] = []
        about: list[tuple[Any, ...]] = []
        deliveries: list[tuple[Any, ...]] = []
        for r in rows:
            uid = r["recipient_id"]
            if uid not in users:
                continue  # no such (active) user: nothing to deliver, the row is done
            p = load_payload(r["payload"])
            case_ids = cases_of(p)
            if secrecy.hides(uid, case_ids):
                continue  # about a case hidden from them: never delivered, the row is done
            about.extend((tenant_id, r["id"], c) for c in sorted(case_ids))
            title = str(p.get("title") or r["kind"])[:200]
            link = p.get("link")
            inbox.append(
                (
                    tenant_id,
                    uid,
                    r["id"],
                    r["kind"][:63],
                    title,
                    str(p.get("body") or ""),
                    str(link)[:500] if link else None,
                    now,
                )
            )
            for ch in channels:
                if ch == "email" and not users[uid]["email"]:
                    continue
                deliveries.append((tenant_id, r["id"], ch, uid, now))
        await sql.executemany(
            "INSERT INTO inbox_message"
            " (tenant_id, user_id, outbox_id, kind, title, body, link, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (tenant_id, outbox_id) DO NOTHING",
            inbox,
        )
        await _link_cases(about)
        await sql.executemany(
            "INSERT INTO notify_delivery"
            " (tenant_id, outbox_id, channel, user_id, state, attempts, next_attempt_at,"
            " last_error) VALUES ($1, $2, $3, $4, 'pending', 0, $5, '')"
            " ON CONFLICT (tenant_id, outbox_id, channel) DO NOTHING",
            deliveries,
        )
        ids = [r["id"] for r in rows]
        if is_postgres():
            await sql.execute(
                "UPDATE outbox SET sent_at = $2, attempts = outbox.attempts + 1"
                " WHERE tenant_id = $1 AND id = ANY($3::int[])",
                tenant_id,
                now,
                ids,
            )
        else:
            await sql.executemany(
                "UPDATE outbox SET sent_at = $2, attempts = attempts + 1"
                " WHERE tenant_id = $1 AND id = $3",
                [(tenant_id, now, i) for i in ids],
            )
        result.inbox += len(inbox)
        return len(rows) == BATCH


async def _link_cases(about: list[tuple[Any, ...]]) -> None:
    """(tenant_id, outbox_id, case_id) → ``inbox_message_case`` of that outbox row's
    message, so the inbox re-asks at every read whether the reader may still see it."""
    await sql.executemany(
        "INSERT INTO inbox_message_case (tenant_id, message_id, case_id)"
        " SELECT tenant_id, id, $3 FROM inbox_message WHERE tenant_id = $1 AND outbox_id = $2"
        " ON CONFLICT (tenant_id, message_id, case_id) DO NOTHING",
        about,
    )


async def _users(scope: Scope, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ", ".join(f"${i + 2}" for i in range(len(ids)))
    rows = await sql.fetch(
        "SELECT u.id, u.tenant_id, u.username, u.title, u.display_name, u.email, u.roles,"
        " u.department_id, t.slug"
        " FROM staff_user u JOIN tenant t ON t.id = u.tenant_id"
        f" WHERE u.tenant_id = $1 AND u.active AND u.id IN ({marks})",
        scope.tenant_id,
        *sorted(ids),
    )
    return {r["id"]: r for r in rows}


async def _phase_two(scope: Scope, now: datetime, result: DeliverResult) -> None:
    rt, tenant_id = scope.rt, scope.tenant_id
    tenant: Any = None
    secrecy = CaseSecrecy()
    lock = " FOR UPDATE OF d SKIP LOCKED" if is_postgres() else ""
    while True:
        async with scope.tx():
            rows = await sql.fetch(
                "SELECT d.id, d.outbox_id, d.channel, d.user_id, d.attempts, o.kind, o.payload,"
                " u.id AS uid, u.tenant_id, u.username, u.title, u.display_name, u.email, u.roles,"
                " u.department_id,"
                " t.slug FROM notify_delivery d"
                " JOIN outbox o ON o.id = d.outbox_id AND o.tenant_id = d.tenant_id"
                " JOIN staff_user u ON u.id = d.user_id AND u.tenant_id = d.tenant_id"
                " JOIN tenant t ON t.id = d.tenant_id"
                " WHERE d.tenant_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2"
                f" ORDER BY d.id LIMIT 1{lock}",
                tenant_id,
                now,
            )
            if not rows:
                return
            r = rows[0]
            message = load_payload(r["payload"])
            message.setdefault("title", r["kind"])
            # Re-asked at send time: retries can come hours later, the accused set may
            # have grown meanwhile.
            await secrecy.load([principal_of(rt.keys, r["slug"], {**r, "id": r["uid"]})])
            if secrecy.hides(r["user_id"], cases_of(message)):
                await sql.execute(
                    "UPDATE notify_delivery SET state = 'skipped', last_error = 'hidden',"
                    " sent_at = $2 WHERE tenant_id = $3 AND id = $1",
                    r["id"],
                    now,
                    tenant_id,
                )
                continue
            try:
                if r["channel"] == "email":
                    await send_email(
                        rt.settings.mail, rt.settings.base_url, tenant_id, r, message, now
                    )
                    state = "sent"
                else:
                    if tenant is None:
                        from core.services.tenants import get_tenant

                        tenant = await get_tenant(scope)
                    handled = await _plugin_send(rt, tenant, r, message)
                    state = "sent" if handled else "skipped"
            except Exception as exc:  # an outside system failed: retry later, then give up
                attempts = r["attempts"] + 1
                failed = attempts >= MAX_ATTEMPTS
                await sql.execute(
                    "UPDATE notify_delivery SET attempts = $2, last_error = $3,"
                    " next_attempt_at = $4, state = $5 WHERE tenant_id = $6 AND id = $1",
                    r["id"],
                    attempts,
                    type(exc).__name__,
                    now + timedelta(minutes=2**attempts),
                    "failed" if failed else "pending",
                    tenant_id,
                )
                log.warning(
                    "delivery %s via %s failed (%s), attempt %s",
                    r["id"],
                    r["channel"],
                    type(exc).__name__,
                    attempts,
                )
                result.failed += 1
                continue
            await sql.execute(
                "UPDATE notify_delivery SET state = $2, sent_at = $3, attempts = attempts + 1"
                " WHERE tenant_id = $4 AND id = $1",
                r["id"],
                state,
                now,
                tenant_id,
            )
            result.sent[r["channel"]] = result.sent.get(r["channel"], 0) + 1


def message_id(tenant_id: int, outbox_id: int, domain: str) -> str:
    return f"<xinfang.{tenant_id}.{outbox_id}@{domain}>"


async def send_email(
    mail: MailSettings,
    base_url: str,
    tenant_id: int,
    row: dict[str, Any],
    msg: dict[str, Any],
    now: datetime,
) -> None:
    em = EmailMessage()
    em["From"] = mail.sender
    em["To"] = row["email"]
    em["Subject"] = str(msg.get("title", ""))
    domain = mail.sender.rpartition("@")[2] or "localhost"
    em["Message-ID"] = message_id(tenant_id, row["outbox_id"], domain)
    em["Date"] = format_datetime(shanghai(now))
    body = str(msg.get("body") or "")
    if msg.get("link"):
        body += f"\n\n{absolute(base_url, str(msg['link']))}"
    em.set_content(body)

    def _send() -> None:
        with smtplib.SMTP(mail.host or "localhost", mail.port, timeout=30) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.user:
                smtp.login(mail.user, mail.password or "")
            smtp.send_message(em)

    await asyncio.to_thread(_send)


async def _plugin_send(rt: Runtime, tenant: Any, row: dict[str, Any], msg: dict[str, Any]) -> bool:
    if rt.plugins is None:
        return False
    recipient = {"id": row["user_id"], "display_name": row["display_name"], "email": row["email"]}
    results = await rt.plugins.call(
        rt, tenant, "xinfang_notify", channel=row["channel"], recipient=recipient, message=msg
    )
    return any(res is True for _, res in results)
