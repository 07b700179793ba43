"""Tenant-leading keys and row-level security for ``case_attachment``."""

from core.db.rls import tenancy_migration

ID = "2026-11-29T18:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "case attachment keys and row level security"

INDEXES = (
    "CREATE UNIQUE INDEX ux_case_attachment ON case_attachment (tenant_id, case_id, sha256)",
    "CREATE INDEX ix_case_attachment_sha ON case_attachment (tenant_id, sha256)",
)

forwards = tenancy_migration(ID, "core", DESCRIPTION, ("case_attachment",), INDEXES)
