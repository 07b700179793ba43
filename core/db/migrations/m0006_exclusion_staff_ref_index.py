"""Tenant-leading index for exclusions by staff reference."""

from core.db.rls import tenancy_migration

ID = "2026-11-28T23:55:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "case exclusion staff reference index"

INDEXES = ("CREATE INDEX ix_exclusion_staff_ref ON case_exclusion (tenant_id, staff_ref)",)

forwards = tenancy_migration(ID, "core", DESCRIPTION, (), INDEXES)
