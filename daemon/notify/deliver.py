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

Petitioner rows (``petitioner.<event>``, :mod:`core.services.petitioner`) get no inbox
message: phase 1 writes one ``notify_delivery`` for the row's channel with the
``visitor_id``; :func:`_tell_petitioners` decrypts the visitor's phone only when sending
(never logged, stored or put into an error) and hands it to the channel's plugin. A
refusal the plugin means (a ``DomainError``, e.g. the gateway's 4xx) fails the delivery
for good with its code; any other failure (5xx, timeout) is retried with backoff.
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
from core.errors import DomainError, PluginFailure
from core.links import absolute, public_lookup
from core.runtime import Runtime
from core.schemas import OPINION_ZH, REDIRECT_CHANNEL_ZH
from core.services.petitioner import KIND_PREFIX
from core.services.scope import Scope
from core.settings import MailSettings
from core.timefmt import shanghai, zh_date
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
    await _tell_petitioners(scope, now, result)
    return result


async def _phase_one(
    scope: Scope, now: datetime, channels: list[str], result: DeliverResult
) -> bool:
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    tenant_id, keys = scope.tenant_id, scope.rt.keys
    async with scope.tx():
        rows = await sql.fetch(
            "SELECT id, kind, channel, recipient_id, payload FROM outbox"
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
            if r["kind"].startswith(KIND_PREFIX):
                deliveries.extend(_to_petitioner(tenant_id, r, now))
                continue
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
                deliveries.append((tenant_id, r["id"], ch, uid, now, None))
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
            " last_error, visitor_id) VALUES ($1, $2, $3, $4, 'pending', 0, $5, '', $6)"
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


def _to_petitioner(tenant_id: int, r: dict[str, Any], now: datetime) -> list[tuple[Any, ...]]:
    """A petitioner row's one delivery (user 0, its visitor) through the row's channel."""
    visitor_id = load_payload(r["payload"]).get("visitor_id")
    if not isinstance(visitor_id, int) or r["channel"] in ("inbox", "email"):
        return []  # malformed or no outside channel: nothing to send, the row is done
    return [(tenant_id, r["id"], r["channel"], 0, now, visitor_id)]


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
                f" AND d.visitor_id IS NULL ORDER BY d.id LIMIT 1{lock}",
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


async def _tell_petitioners(scope: Scope, now: datetime, result: DeliverResult) -> None:
    """Phase 2 of petitioner deliveries: one at a time under its row lock, the phone
    decrypted here and only here, sent through the channel's plugin, marked in the same
    transaction."""
    rt, tenant_id = scope.rt, scope.tenant_id
    tenant: Any = None
    lock = " FOR UPDATE OF d SKIP LOCKED" if is_postgres() else ""
    while True:
        async with scope.tx():
            rows = await sql.fetch(
                "SELECT d.id, d.outbox_id, d.channel, d.attempts, o.payload, v.phone_enc"
                " FROM notify_delivery d"
                " JOIN outbox o ON o.id = d.outbox_id AND o.tenant_id = d.tenant_id"
                " LEFT JOIN visitor v ON v.id = d.visitor_id AND v.tenant_id = d.tenant_id"
                " WHERE d.tenant_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2"
                f" AND d.visitor_id IS NOT NULL ORDER BY d.id LIMIT 1{lock}",
                tenant_id,
                now,
            )
            if not rows:
                return
            r = rows[0]
            if tenant is None:
                from core.services.tenants import get_tenant

                tenant = await get_tenant(scope)
            state, reason = await _send_to_petitioner(rt, tenant, r)
            if state == "retry":
                attempts = r["attempts"] + 1
                state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
                await sql.execute(
                    "UPDATE notify_delivery SET attempts = $2, last_error = $3,"
                    " next_attempt_at = $4, state = $5 WHERE tenant_id = $6 AND id = $1",
                    r["id"],
                    attempts,
                    reason,
                    now + timedelta(minutes=2**attempts),
                    state,
                    tenant_id,
                )
                log.warning(
                    "delivery %s via %s failed (%s), attempt %s",
                    r["id"],
                    r["channel"],
                    reason,
                    attempts,
                )
                result.failed += 1
                continue
            await sql.execute(
                "UPDATE notify_delivery SET state = $2, sent_at = $3, attempts = attempts + 1,"
                " last_error = $5 WHERE tenant_id = $4 AND id = $1",
                r["id"],
                state,
                now,
                tenant_id,
                reason,
            )
            if state == "sent":
                result.sent[r["channel"]] = result.sent.get(r["channel"], 0) + 1
            elif state == "failed":
                log.warning("delivery %s via %s refused (%s)", r["id"], r["channel"], reason)
                result.failed += 1


async def _send_to_petitioner(rt: Runtime, tenant: Any, r: dict[str, Any]) -> tuple[str, str]:
    """(state, short reason without personal data): ``sent``, ``skipped`` (no phone, no
    plugin handled it), ``failed`` (refused for good) or ``retry``."""
    if rt.plugins is None or not r["phone_enc"]:
        return "skipped", "no_phone" if rt.plugins else "no_plugins"
    message = petitioner_message(rt.settings.base_url, tenant, load_payload(r["payload"]))
    # Stable across retries, like an e-mail's Message-ID: a gateway that takes a client
    # message id can drop the repeat a worker killed after the send would cause.
    message["message_id"] = f"xinfang.{tenant.id}.{r['outbox_id']}"
    try:
        phone = rt.keys.decrypt(r["phone_enc"], context="visitor.phone")
    except Exception:
        return "failed", "phone_unreadable"
    try:
        results = await rt.plugins.call(
            rt,
            tenant,
            "xinfang_notify",
            channel=r["channel"],
            recipient={"kind": "petitioner", "phone": phone},
            message=message,
        )
    except PluginFailure:  # the plugin failed (gateway down, timeout): later
        return "retry", "plugin_failed"
    except DomainError as exc:  # refused on purpose (gateway 4xx): for good
        return "failed", exc.code[:80]
    except Exception as exc:
        return "retry", type(exc).__name__
    handled = any(res is True for _, res in results)
    return ("sent", "") if handled else ("skipped", "not_handled")


def petitioner_message(base_url: str, tenant: Any, p: dict[str, Any]) -> dict[str, Any]:
    """What a petitioner channel words its message from: the event and non-personal facts
    of the outbox payload, the tenant's name, the date in Chinese and the lookup link."""
    event = str(p.get("event") or "")
    out: dict[str, Any] = {
        "audience": "petitioner",
        "event": event,
        "case_id": p.get("case_id"),
        "receipt_code": str(p.get("receipt_code") or ""),
        "tenant_name": tenant.name,
        "date": zh_date(p.get("on")) if p.get("on") else "",
        "lookup_url": absolute(base_url, public_lookup(tenant.slug)),
        "title": f"{KIND_PREFIX}{event}",
    }
    if "redirect_channel" in p:
        code = str(p["redirect_channel"])
        out["redirect_channel"] = REDIRECT_CHANNEL_ZH.get(code, code)
    if "opinion" in p:
        code = str(p["opinion"])
        out["opinion"] = OPINION_ZH.get(code, code)
    return out


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
