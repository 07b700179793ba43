"""A staff member's in-app inbox: list, unread count, mark read. Only ever their own.

A stored message is shown only while its reader may see every case it is about
(``core.services.visibility``, evaluated now): someone who became accused after it was
delivered — moved into the accused unit, or given the accused badge as title — no longer
finds it, as they no longer find the case. E-mail already sent cannot be recalled.
"""

from __future__ import annotations

from typing import Any

from core.db.engine import tenant_tx
from core.db.tables import Outbox
from core.errors import NotFound
from core.principal import Principal
from core.runtime import Runtime
from core.services.visibility import hidden_from
from core.settings import TIMEZONE
from daemon.notify.privacy import cases_of
from daemon.notify.tables import InboxMessage

COLUMNS = (
    InboxMessage.id,
    InboxMessage.kind,
    InboxMessage.title,
    InboxMessage.body,
    InboxMessage.link,
    InboxMessage.created_at,
    InboxMessage.read_at,
)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    """Times in Asia/Shanghai, whichever engine stored them."""
    for key in ("created_at", "read_at"):
        if row.get(key) is not None:
            row[key] = row[key].astimezone(TIMEZONE)
    return row


def _mine(p: Principal) -> Any:
    return (InboxMessage.tenant_id == p.tenant_id) & (InboxMessage.user_id == p.user_id)


async def _hidden(p: Principal) -> set[int]:
    """Cases the reader may not see now — for almost everyone, none."""
    return {int(c) for c in await hidden_from(p).output(as_list=True)}


async def _concealed(p: Principal, hidden: set[int], rows: list[dict[str, Any]]) -> set[int]:
    """The ids among these messages that are about one of the ``hidden`` cases (inside
    a tenant_tx; rows carry ``id``, ``link`` and ``outbox_id``)."""
    if not hidden or not rows:
        return set()
    sources = [r["outbox_id"] for r in rows if r["outbox_id"] is not None]
    payloads = {
        o["id"]: o["payload"]
        for o in await Outbox.select(Outbox.id, Outbox.payload)
        .where((Outbox.tenant_id == p.tenant_id) & Outbox.id.is_in(sources or [0]))
        .output(load_json=True)
    }
    out = set()
    for r in rows:
        payload = payloads.get(r["outbox_id"])
        about = cases_of({**(payload if isinstance(payload, dict) else {}), "link": r["link"]})
        if about & hidden:
            out.add(r["id"])
    return out


async def _unread_concealed(p: Principal, hidden: set[int]) -> set[int]:
    if not hidden:
        return set()
    rows = await InboxMessage.select(
        InboxMessage.id, InboxMessage.link, InboxMessage.outbox_id
    ).where(_mine(p) & InboxMessage.read_at.is_null())
    return await _concealed(p, hidden, rows)


async def _unread_count(p: Principal, hidden: set[int]) -> int:
    total = await InboxMessage.count().where(_mine(p) & InboxMessage.read_at.is_null())
    return int(total) - len(await _unread_concealed(p, hidden))


async def list_messages(
    rt: Runtime, p: Principal, *, unread: bool = False, before: int | None = None, limit: int = 50
) -> dict[str, Any]:
    """Newest first, keyset-paginated by id (``before`` = last id of the previous page)."""
    rows: list[dict[str, Any]] = []
    async with tenant_tx(p.tenant_id, write=False):
        hidden = await _hidden(p)
        while True:
            query = InboxMessage.select(*COLUMNS, InboxMessage.outbox_id).where(_mine(p))
            if unread:
                query = query.where(InboxMessage.read_at.is_null())
            if before is not None:
                query = query.where(InboxMessage.id < before)
            batch = await query.order_by(InboxMessage.id, ascending=False).limit(limit + 1)
            concealed = await _concealed(p, hidden, batch)
            rows += [r for r in batch if r["id"] not in concealed]
            if len(batch) <= limit or len(rows) > limit:
                break
            before = batch[-1]["id"]
        unread_count = await _unread_count(p, hidden)
    more = len(rows) > limit
    rows = [_out(r) for r in rows[:limit]]
    for r in rows:
        del r["outbox_id"]
    return {
        "items": rows,
        "unread": unread_count,
        "next_before": rows[-1]["id"] if more and rows else None,
    }


async def unread_count(rt: Runtime, p: Principal) -> int:
    async with tenant_tx(p.tenant_id, write=False):
        return await _unread_count(p, await _hidden(p))


async def mark_read(rt: Runtime, p: Principal, message_id: int) -> dict[str, Any]:
    """Idempotent; someone else's message (or another tenant's) is 404."""
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        row = (
            await InboxMessage.select(*COLUMNS, InboxMessage.outbox_id)
            .where(_mine(p) & (InboxMessage.id == message_id))
            .first()
        )
        if row is None or await _concealed(p, await _hidden(p), [row]):
            raise NotFound("message_not_found", "消息不存在。", field="message_id")
        del row["outbox_id"]
        if row["read_at"] is None:
            await InboxMessage.update({InboxMessage.read_at: now}).where(
                _mine(p) & (InboxMessage.id == message_id)
            )
            row["read_at"] = now
    return _out(row)


async def mark_all_read(rt: Runtime, p: Principal) -> int:
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        where = _mine(p) & InboxMessage.read_at.is_null()
        concealed = await _unread_concealed(p, await _hidden(p))
        if concealed:
            where = where & InboxMessage.id.not_in(sorted(concealed))
        rows = (
            await InboxMessage.update({InboxMessage.read_at: now})
            .where(where)
            .returning(InboxMessage.id)
        )
    return len(rows)
