"""Tenant-leading indexes and row-level security for the lifecycle tables."""


from core.db.rls import tenancy_migration

ID = "2026-11-23T10:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lifecycle indexes and row level security"

TENANT_TABLES = ("case_deadline", "case_transfer", "case_exclusion", "archive_volume")

INDEXES = (
    "CREATE INDEX ix_deadline_case ON case_deadline (tenant_id, case_id)",
    "CREATE INDEX ix_deadline_open ON case_deadline (tenant_id, state, due)",
    "CREATE INDEX ix_transfer_case ON case_transfer (tenant_id, case_id)",
    "CREATE INDEX ix_transfer_pending ON case_transfer (tenant_id, status, objection_due)",
    "CREATE INDEX ix_exclusion_case ON case_exclusion (tenant_id, case_id)",
    "CREATE INDEX ix_exclusion_user ON case_exclusion (tenant_id, user_id)",
    "CREATE INDEX ix_exclusion_department ON case_exclusion (tenant_id, department_id)",
    "CREATE UNIQUE INDEX ux_archive_volume ON archive_volume (tenant_id, visitor_id, year)",
    "CREATE INDEX ix_case_repeat ON petition_case (tenant_id, repeat_of_id)",
)


forwards = tenancy_migration(ID, "core", DESCRIPTION, TENANT_TABLES, INDEXES)
