"""Row-level-security DDL shared by every app's migrations (core, daemon, plugins)."""

from __future__ import annotations

PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer"


def rls_statements(table: str) -> list[str]:
    """ENABLE + FORCE RLS and the tenant policy: without app.tenant_id, no rows."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({PREDICATE}) WITH CHECK ({PREDICATE})",
    ]
