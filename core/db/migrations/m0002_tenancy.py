"""Tenant-leading indexes on both engines; row-level security on PostgreSQL.

The RLS policy compares each row with ``app.tenant_id``, set per transaction by
``core.db.engine.tenant_tx``. Unset (or reset to '') means NULL, which matches nothing:
a query without a tenant sees no rows rather than all of them.
"""


from core.db.rls import tenancy_migration

ID = "2026-11-23T09:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenancy indexes and row level security"

TENANT_TABLES = (
    "tenant_plugin",
    "department",
    "staff_user",
    "api_token",
    "visitor",
    "petition_case",
    "case_participant",
    "reception_session",
    "case_event",
    "outbox",
)

INDEXES = (
    "CREATE UNIQUE INDEX ux_tenant_plugin ON tenant_plugin (tenant_id, plugin)",
    "CREATE UNIQUE INDEX ux_department_code ON department (tenant_id, code)",
    "CREATE UNIQUE INDEX ux_staff_user_username ON staff_user (tenant_id, username)",
    "CREATE UNIQUE INDEX ux_api_token_hash ON api_token (tenant_id, token_hash)",
    "CREATE INDEX ix_visitor_id_number ON visitor (tenant_id, id_number_hash)",
    "CREATE INDEX ix_visitor_phone ON visitor (tenant_id, phone_hash)",
    "CREATE INDEX ix_visitor_name_phone ON visitor (tenant_id, name_hash, phone_hash)",
    "CREATE UNIQUE INDEX ux_case_receipt ON petition_case (tenant_id, receipt_code)",
    "CREATE INDEX ix_case_list ON petition_case (tenant_id, id)",
    "CREATE INDEX ix_case_status ON petition_case (tenant_id, status, id)",
    "CREATE INDEX ix_case_visitor ON petition_case (tenant_id, visitor_id)",
    "CREATE INDEX ix_case_department ON petition_case (tenant_id, department_id, id)",
    "CREATE INDEX ix_participant_case ON case_participant (tenant_id, case_id)",
    "CREATE INDEX ix_session_day ON reception_session (tenant_id, day)",
    "CREATE UNIQUE INDEX ux_session_slot ON reception_session (tenant_id, slot_key)",
    "CREATE INDEX ix_event_case ON case_event (tenant_id, case_id, id)",
    "CREATE UNIQUE INDEX ux_outbox_dedupe ON outbox (tenant_id, dedupe_key)",
    "CREATE INDEX ix_outbox_pending ON outbox (available_at) WHERE sent_at IS NULL",
)

SQLITE_APPEND_ONLY = (
    """CREATE TRIGGER case_event_no_update BEFORE UPDATE ON case_event
       BEGIN SELECT RAISE(ABORT, 'case_event is append-only'); END""",
    """CREATE TRIGGER case_event_no_delete BEFORE DELETE ON case_event
       BEGIN SELECT RAISE(ABORT, 'case_event is append-only'); END""",
)

PG_APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION xinfang_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event
       FOR EACH ROW EXECUTE FUNCTION xinfang_append_only()""",
)


forwards = tenancy_migration(
    ID, "core", DESCRIPTION, TENANT_TABLES, INDEXES,
    pg_extra=PG_APPEND_ONLY, sqlite_extra=SQLITE_APPEND_ONLY,
)
