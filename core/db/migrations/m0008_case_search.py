"""Tenant-leading indexes for the case list's filters and the dashboard's counts
(issue 13: ``/cases`` and ``GET /api/v1/cases`` at a million matters).

Status, department, visitor (ID/phone/name search) and receipt code already have
theirs (``0002_tenancy``); open clocks by due date and pending transfers too (``0004``).
"""

from core.db.rls import tenancy_migration

ID = "2026-11-29T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case list filter indexes"

INDEXES = (
    "CREATE INDEX ix_case_category ON petition_case (tenant_id, category, id)",
    "CREATE INDEX ix_case_channel ON petition_case (tenant_id, channel, id)",
    "CREATE INDEX ix_case_visit_kind ON petition_case (tenant_id, visit_kind, id)",
    "CREATE INDEX ix_case_received ON petition_case (tenant_id, received_at)",
    "CREATE INDEX ix_case_closed ON petition_case (tenant_id, closed_at)",
    "CREATE INDEX ix_event_kind_at ON case_event (tenant_id, kind, at, case_id)",
    # 本部门待办 counted from the index alone.
    "CREATE INDEX ix_case_department_status ON petition_case (tenant_id, department_id, status)",
)
# A name search matches the beginning of the name ('张建' finds 张建国): on PostgreSQL a
# range in code-point order (COLLATE "C"), an index range whatever the database's collation.
# Overdue and due-soon matters are counted from the open clocks alone (index-only).
# How a tenant's matters spread over each filtered column: without these, PostgreSQL
# takes a value common in the whole table for common in every tenant and walks the
# primary key backwards through other tenants' rows looking for it.
PG_INDEXES = (
    'CREATE INDEX ix_visitor_name ON visitor (tenant_id, name COLLATE "C")',
    "CREATE INDEX ix_deadline_running ON case_deadline (tenant_id, state, due)"
    " INCLUDE (case_id, clock, responsible_user_id, responsible_department_id)",
    *(
        f"CREATE STATISTICS st_case_tenant_{col} (mcv) ON tenant_id, {col} FROM petition_case"
        for col in ("status", "channel", "category", "visit_kind", "department_id")
    ),
)
SQLITE_INDEXES = ("CREATE INDEX ix_visitor_name ON visitor (tenant_id, name)",)

forwards = tenancy_migration(
    ID, "core", DESCRIPTION, (), INDEXES, pg_extra=PG_INDEXES, sqlite_extra=SQLITE_INDEXES
)
