"""Index for the statistics (GET /api/v1/stats): a person's matters by registration
time (息访: did the same person come back within N months of a closing?)."""

from core.db.rls import tenancy_migration

ID = "2026-11-29T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a person's matters by registration time, for statistics"

# The period's index (tenant_id, received_at) comes with the case search (m0008).
INDEXES = (
    "CREATE INDEX ix_case_visitor_received ON petition_case (tenant_id, visitor_id, received_at)",
)

forwards = tenancy_migration(ID, "core", DESCRIPTION, (), INDEXES)
