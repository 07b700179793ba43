"""Engine set-up and the tenant transaction — the only way services touch tables.

PostgreSQL: every transaction first runs ``set_config('app.tenant_id', …, true)``; the
row-level-security policies compare each row's ``tenant_id`` with it, so a query that
forgets its tenant sees nothing. SQLite has no RLS: there the services' explicit
``tenant_id`` filters are the only wall (the same filters run on PostgreSQL too).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from core.settings import DatabaseSettings

os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

_engine: Engine | None = None
_extra_tables: list[type[Table]] = []


def make_engine(db: DatabaseSettings, *, admin: bool = False) -> Engine:
    if db.is_sqlite:
        # A generous busy timeout: web and worker share one file in the embedded default.
        return SQLiteEngine(path=db.sqlite_path, timeout=30)
    return PostgresEngine(config=db.pg_config(admin=admin))


def register_tables(tables: Sequence[type[Table]]) -> None:
    """Plugins' tables are bound to the same engine as the core's."""
    for table in tables:
        if table not in _extra_tables:
            _extra_tables.append(table)
            if _engine is not None:
                table._meta.db = _engine


def bind_engine(engine: Engine) -> None:
    """Point every table (and Piccolo's migration machinery) at ``engine``."""
    global _engine
    from piccolo.apps.migrations.tables import Migration

    from core import piccolo_conf

    _engine = engine
    piccolo_conf.DB = engine
    # Piccolo's own bookkeeping table too, which otherwise keeps the engine it first saw.
    tables: list[type[Table]] = [*registered_tables(), Migration]
    for table in tables:
        table._meta.db = engine


def registered_tables() -> list[type[Table]]:
    """Every app's tables (core, rota, notify, plugins), each once."""
    from core import piccolo_conf

    tables: list[type[Table]] = []
    for app in piccolo_conf.APP_REGISTRY.app_configs.values():
        tables += [t for t in app.table_classes if t not in tables]
    return tables + [t for t in _extra_tables if t not in tables]


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database engine not configured; call bind_engine() at start-up")
    return _engine


def is_postgres(engine: Engine | None = None) -> bool:
    return isinstance(engine or get_engine(), PostgresEngine)


async def open_engine(engine: Engine, pool_size: int = 10) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)
    else:
        # WAL lets the worker read while the web process writes.
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


@asynccontextmanager
async def tenant_tx(tenant_id: int, *, write: bool = True) -> AsyncIterator[Any]:
    """A transaction scoped to one tenant. Nested calls join the outer transaction."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        outer = engine.current_transaction.get()
        async with engine.transaction() as tx:
            if outer is None:
                await tx.connection.execute(
                    "SELECT set_config('app.tenant_id', $1, true)", str(int(tenant_id))
                )
            yield tx
    else:
        assert isinstance(engine, SQLiteEngine)
        kind = TransactionType.immediate if write else TransactionType.deferred
        async with engine.transaction(transaction_type=kind) as tx:
            yield tx


async def switch_tenant(tenant_id: int) -> None:
    """Re-scope the current transaction to another tenant (cross-tenant transfer)."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        tx = engine.current_transaction.get()
        if tx is None:
            raise RuntimeError("switch_tenant() outside a transaction")
        await tx.connection.execute(
            "SELECT set_config('app.tenant_id', $1, true)", str(int(tenant_id))
        )


@asynccontextmanager
async def global_tx() -> AsyncIterator[Any]:
    """A transaction over global tables only (tenants, calendar)."""
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate) as tx:
            yield tx
    else:
        async with engine.transaction() as tx:
            yield tx
