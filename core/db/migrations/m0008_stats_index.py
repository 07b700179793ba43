"""Matters by registration time within a tenant: the statistics period (GET /api/v1/stats)
reads a month or a year of a tenant's matters without scanning the others."""

from core.db.rls import tenancy_migration

ID = "2026-11-29T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case registration time index for statistics"

INDEXES = ("CREATE INDEX ix_case_received ON petition_case (tenant_id, received_at)",)

forwards = tenancy_migration(ID, "core", DESCRIPTION, (), INDEXES)
