"""Tables of the notification side (reminders, inbox, deliveries, tick state).

All are tenant-owned: ``tenant_id`` leads every unique key and index, and on PostgreSQL
row-level security applies (raw migration ``m0002_notify_tenancy``).
"""

from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.db.tables import Tenant


class Reminder(Table, tablename="reminder"):
    """One reminder that became due: UNIQUE (tenant_id, case_id, kind, due_on).

    ``case_id`` is 0 for tenant-wide reminders (monthly screening sheet, daily digests),
    so the unique key also holds on PostgreSQL, where NULLs never collide. ``kind`` is
    ``<subject>:<stage>``, e.g. ``handle:overdue``, ``transfer#12:reminder``,
    ``digest:7``. Its notifications are outbox rows keyed ``reminder:<id>:<recipient>``,
    written in the same transaction. ``notified`` is false for a stage that was reached
    together with a later stage of the same clock (catch-up after downtime): it is
    recorded, but only the latest stage is sent."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = Integer(default=0)
    kind = Varchar(length=80)
    due_on = Date()
    level = Integer(default=1)
    """1 approaching, 2 due today / waiting, 3 overdue (催办), 4 escalated (督办)."""
    subject_id = Integer(null=True, default=None)
    """The case_deadline / case_transfer row behind it, when there is one."""
    recipients = Integer(default=0)
    notified = Boolean(default=True)
    created_at = Timestamptz()


class InboxMessage(Table, tablename="inbox_message"):
    """A staff member's in-app message; UNIQUE (tenant_id, outbox_id): one per outbox row."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    user_id = Integer()
    outbox_id = Integer(null=True, default=None)
    kind = Varchar(length=63)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=500, null=True, default=None)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class InboxMessageCase(Table, tablename="inbox_message_case"):
    """A case an inbox message is about (``core.domain.notices.cases_of`` of its
    payload), written with the message: UNIQUE (tenant_id, message_id, case_id). The
    inbox hides a message while any of its cases is hidden from the reader *now*."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    message_id = Integer()
    case_id = Integer()


class NotifyDelivery(Table, tablename="notify_delivery"):
    """An outside-channel send (email, plugin channel) of one outbox row.

    UNIQUE (tenant_id, outbox_id, channel). Written with the inbox message; sent by the
    worker holding the row lock, marked sent in the same transaction. A worker killed
    between the send and the commit sends again (at-least-once); emails carry a stable
    Message-ID so mail systems can drop the repeat."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    outbox_id = Integer()
    channel = Varchar(length=31)
    user_id = Integer()
    """The staff member; 0 for a delivery to a petitioner (``visitor_id``)."""
    visitor_id = Integer(null=True, default=None)
    """The petitioner (信访人) told by SMS etc.; NULL for staff. Their phone is read from
    ``visitor`` and decrypted only when sending — never copied into this row."""
    state = Varchar(length=16, default="pending")
    """pending → sent | skipped (no channel handled it) | failed (gave up)."""
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(default="")
    sent_at = Timestamptz(null=True, default=None)


class TickState(Table, tablename="notify_tick_state"):
    """Per-tenant watermark of the deadline tick (UNIQUE tenant_id)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    full_day = Date(null=True, default=None)
    """Shanghai date of the last full pass (stages depend on the date only)."""
    digest_day = Date(null=True, default=None)
    last_tick_at = Timestamptz(null=True, default=None)
    """Start of the last pass; incremental passes read deadlines changed since (minus slack)."""


NOTIFY_TABLES: tuple[type[Table], ...] = (
    Reminder,
    InboxMessage,
    InboxMessageCase,
    NotifyDelivery,
    TickState,
)
