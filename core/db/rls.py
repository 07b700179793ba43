"""Row-level security and tenancy DDL shared by every app's migrations (core, rota,
notify, plugins): one definition, so every tenant-owned table is protected the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer"

# The table owner's way past the tenant wall, for backup and restore (``core.services.
# backup``). FORCE ROW LEVEL SECURITY keeps the owner under the tenant policy by default,
# so an owner connection mistakenly used as the app still sees one tenant at a time; only
# a transaction that sets ``app.all_tenants`` to 'on' sees (and writes) every row. The
# policy names the owner role, so the app role setting the same variable gains nothing.
# (A BYPASSRLS backup role would need a superuser to create it.)
OWNER_POLICY = "owner_all_tenants"
ALL_TENANTS_SETTING = "app.all_tenants"
OWNER_PREDICATE = f"current_setting('{ALL_TENANTS_SETTING}', true) = 'on'"


def rls_statements(table: str) -> list[str]:
    """ENABLE + FORCE RLS and the tenant policy: without app.tenant_id, no rows."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({PREDICATE}) WITH CHECK ({PREDICATE})",
    ]


def owner_policy_sql(table: str, owner: str, *, exists: bool = False) -> list[str]:
    """Create (or re-point after an ownership change) the owner's maintenance policy."""
    role = '"' + owner.replace('"', '""') + '"'
    if exists:
        return [f"ALTER POLICY {OWNER_POLICY} ON {table} TO {role}"]
    return [
        f"CREATE POLICY {OWNER_POLICY} ON {table} TO {role}"
        f" USING ({OWNER_PREDICATE}) WITH CHECK ({OWNER_PREDICATE})"
    ]


def tenancy_migration(
    migration_id: str,
    app_name: str,
    description: str,
    tables: Sequence[str],
    indexes: Sequence[str],
    *,
    pg_extra: Sequence[str] = (),
    sqlite_extra: Sequence[str] = (),
) -> Callable[[], Awaitable[Any]]:
    """A raw migration's ``forwards``: tenant-leading indexes on both engines, and on
    PostgreSQL row-level security for ``tables`` (plus engine-specific extras)."""

    async def forwards() -> Any:
        from piccolo.apps.migrations.auto.migration_manager import MigrationManager
        from piccolo.engine.finder import engine_finder
        from piccolo.engine.postgres import PostgresEngine

        manager = MigrationManager(
            migration_id=migration_id, app_name=app_name, description=description
        )

        async def run() -> None:
            engine = engine_finder()
            assert engine is not None
            statements = list(indexes)
            if isinstance(engine, PostgresEngine):
                statements += pg_extra
                for table in tables:
                    statements += rls_statements(table)
            else:
                statements += sqlite_extra
            for sql in statements:
                await engine.run_ddl(sql)

        manager.add_raw(run)
        return manager

    return forwards
