"""A staff member's in-app inbox: list, unread count, mark read. Only ever their own,
and only what they may read *now*: a message about a case hidden from them (检举控告 —
e.g. they were moved into the accused department after it was delivered) is left out
of lists and counts and cannot be marked read, by the case page's own predicate
(``core.services.visibility.hidden_from``) over the cases delivery linked to it
(``inbox_message_case``, from the payload contract ``core.domain.notices.cases_of``).
"""

from __future__ import annotations

from typing import Any

from core.db.notify.tables import InboxMessage, InboxMessageCase
from core.errors import NotFound
from core.services.scope import Scope
from core.services.visibility import hidden_from
from core.settings import TIMEZONE

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


def _mine(scope: Scope) -> Any:
    """The reader's own messages that name no case hidden from them now (the tenant
    condition comes from the scoped query it is put in)."""
    p = scope.actor
    hidden_messages = scope.select(InboxMessageCase, InboxMessageCase.message_id).where(
        InboxMessageCase.case_id.is_in(hidden_from(p))
    )
    return (InboxMessage.user_id == p.user_id) & InboxMessage.id.not_in(hidden_messages)


async def list_messages(
    scope: Scope, *, unread: bool = False, before: int | None = None, limit: int = 50
) -> dict[str, Any]:
    """Newest first, keyset-paginated by id (``before`` = last id of the previous page)."""
    async with scope.tx(write=False):
        query = scope.select(InboxMessage, *COLUMNS).where(_mine(scope))
        if unread:
            query = query.where(InboxMessage.read_at.is_null())
        if before is not None:
            query = query.where(InboxMessage.id < before)
        rows = await query.order_by(InboxMessage.id, ascending=False).limit(limit + 1)
        unread_count = await scope.count(InboxMessage).where(
            _mine(scope) & InboxMessage.read_at.is_null()
        )
    more = len(rows) > limit
    rows = [_out(r) for r in rows[:limit]]
    return {
        "items": rows,
        "unread": unread_count,
        "next_before": rows[-1]["id"] if more and rows else None,
    }


async def unread_count(scope: Scope) -> int:
    async with scope.tx(write=False):
        count: int = await scope.count(InboxMessage).where(
            _mine(scope) & InboxMessage.read_at.is_null()
        )
    return count


async def mark_read(scope: Scope, message_id: int) -> dict[str, Any]:
    """Idempotent; someone else's message (or another tenant's) is 404."""
    now = scope.rt.clock.now()
    async with scope.tx():
        row = (
            await scope.select(InboxMessage, *COLUMNS)
            .where(_mine(scope) & (InboxMessage.id == message_id))
            .first()
        )
        if row is None:
            raise NotFound("message_not_found", "消息不存在。", field="message_id")
        if row["read_at"] is None:
            await scope.update(InboxMessage, {InboxMessage.read_at: now}).where(
                _mine(scope) & (InboxMessage.id == message_id)
            )
            row["read_at"] = now
    return _out(row)


async def mark_all_read(scope: Scope) -> int:
    now = scope.rt.clock.now()
    async with scope.tx():
        rows = (
            await scope.update(InboxMessage, {InboxMessage.read_at: now})
            .where(_mine(scope) & InboxMessage.read_at.is_null())
            .returning(InboxMessage.id)
        )
    return len(rows)
