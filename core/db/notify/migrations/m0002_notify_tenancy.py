"""Tenant-leading unique keys / indexes and row-level security for the notify tables."""

from core.db.rls import tenancy_migration

ID = "2026-11-23T12:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "notify indexes and row level security"

TENANT_TABLES = ("reminder", "inbox_message", "notify_delivery", "notify_tick_state")

INDEXES = (
    "CREATE UNIQUE INDEX ux_reminder_key ON reminder (tenant_id, case_id, kind, due_on)",
    "CREATE UNIQUE INDEX ux_inbox_outbox ON inbox_message (tenant_id, outbox_id)",
    "CREATE INDEX ix_inbox_user ON inbox_message (tenant_id, user_id, id)",
    "CREATE INDEX ix_inbox_unread ON inbox_message (tenant_id, user_id) WHERE read_at IS NULL",
    "CREATE UNIQUE INDEX ux_delivery ON notify_delivery (tenant_id, outbox_id, channel)",
    "CREATE INDEX ix_delivery_pending ON notify_delivery (tenant_id, next_attempt_at)"
    " WHERE state = 'pending'",
    "CREATE UNIQUE INDEX ux_tick_state ON notify_tick_state (tenant_id)",
    # The deliverer's scan of one tenant's pending outbox rows.
    "CREATE INDEX ix_outbox_tenant_pending ON outbox (tenant_id, available_at)"
    " WHERE sent_at IS NULL",
)

PG_INDEXES = [
    # The tick's look-up of cases with a pending extension request (flags is JSONB).
    "CREATE INDEX ix_case_extension_pending ON petition_case (tenant_id)"
    " WHERE flags ? 'extension_request'",
]


forwards = tenancy_migration(ID, "notify", DESCRIPTION, TENANT_TABLES, INDEXES, pg_extra=PG_INDEXES)
