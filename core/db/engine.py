"""Engine set-up and the tenant transaction — the only way services touch tables.

PostgreSQL: every transaction first runs ``set_config('app.tenant_id', …, true)``; the
row-level-security policies compare each row's ``tenant_id`` with it, so a query that
forgets its tenant sees nothing. SQLite has no RLS: there the services' explicit
``tenant_id`` filters are the only wall (the same filters run on PostgreSQL too).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from asyncpg import exceptions as pg_errors
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.table import Table

from core.db import tenancy
from core.settings import DatabaseSettings

os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

_engine: Engine[Any] | None = None
_extra_tables: list[type[Table]] = []


class _GivesBack:
    """Piccolo's transaction, except that its connection always goes back (to the pool,
    or closed) and the task always forgets it. Piccolo does both only after COMMIT or
    ROLLBACK succeeded (or, on entry, BEGIN). When they raise — the session cut by the
    server, SQLite busy past its timeout — each PostgreSQL transaction kept a pool slot
    for good until no request got a connection any more, each SQLite one kept an open
    connection and its thread, and the task's next "transaction" joined the dead one,
    its statements then committing one by one."""

    _parent: Any
    _committed: bool
    _rolled_back: bool
    engine: Any
    connection: Any
    context: Any

    async def _give_back(self) -> None:
        if getattr(self.engine, "pool", None):
            await self.engine.pool.release(self.connection)
        else:
            await self.connection.close()

    async def __aenter__(self) -> Any:
        try:
            return await super().__aenter__()  # type: ignore[misc]
        except BaseException:
            if self._parent is None and hasattr(self, "connection"):
                await self._give_back()
            raise

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[attr-defined]
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[attr-defined]
        finally:
            try:
                await self._give_back()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class _PostgresTransaction(_GivesBack, PostgresTransaction):
    pass


class _SQLiteTransaction(_GivesBack, SQLiteTransaction):
    pass


class _PostgresEngine(PostgresEngine):
    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _PostgresTransaction(engine=self, allow_nested=allow_nested)


class _SQLiteEngine(SQLiteEngine):
    async def _run_in_existing_connection(
        self, connection: Any, query: str, *a: Any, **kw: Any
    ) -> Any:
        tenancy.check(query)
        return await super()._run_in_existing_connection(connection, query, *a, **kw)

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _SQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def make_engine(db: DatabaseSettings, *, admin: bool = False) -> Engine[Any]:
    if db.is_sqlite:
        # A generous busy timeout: web and worker share one file in the embedded default.
        return _SQLiteEngine(path=db.sqlite_path, timeout=30)
    return _PostgresEngine(config=db.pg_config(admin=admin))


def register_tables(tables: Sequence[type[Table]]) -> None:
    """Plugins' tables are bound to the same engine as the core's."""
    for table in tables:
        if table not in _extra_tables:
            _extra_tables.append(table)
            tenancy.forget_tables()
            if _engine is not None:
                table._meta.db = _engine


def bind_engine(engine: Engine[Any]) -> None:
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


def get_engine() -> Engine[Any]:
    if _engine is None:
        raise RuntimeError("database engine not configured; call bind_engine() at start-up")
    return _engine


def is_postgres(engine: Engine[Any] | None = None) -> bool:
    return isinstance(engine or get_engine(), PostgresEngine)


async def open_engine(engine: Engine[Any], pool_size: int = 10) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)
    else:
        # WAL lets the worker read while the web process writes.
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_engine(engine: Engine[Any]) -> None:
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
            token = tenancy.current_tenant.set(int(tenant_id))
            try:
                yield tx
            finally:
                tenancy.current_tenant.reset(token)


# The database is unreachable or refused us for now — not a fault of the request:
# connect refused or timed out, the session cut (admin shutdown, failover, network),
# the role may not log in, no connection slots left.
_UNAVAILABLE = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    pg_errors.PostgresConnectionError,
    pg_errors.OperatorInterventionError,
    pg_errors.InsufficientResourcesError,
    pg_errors.InvalidAuthorizationSpecificationError,
)
# asyncpg's client-side errors on a session the server ended under a query or a
# transaction (the classes are shared with misuse, so the message tells them apart):
# the connection closed, or the protocol still waiting for the ready-for-query that
# never follows the server's FATAL error when the next statement (often COMMIT) starts.
_DEAD = (
    "connection is closed",
    "connection was closed",
    "released back to the pool",
    "cannot switch to state",
    "not connected",
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is the database being unavailable —
    worth a 503 and a retry, not a 500. Piccolo's rollback on a dead connection raises
    its own error over the original, hence the walk along the chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, _UNAVAILABLE):
            return True
        if isinstance(cur, pg_errors.InterfaceError | pg_errors.InternalClientError) and any(
            m in str(cur) for m in _DEAD
        ):
            return True
        # SQLite: another writer held the file past the busy timeout.
        if isinstance(cur, sqlite3.OperationalError) and "locked" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


async def switch_tenant(tenant_id: int) -> None:
    """Re-scope the current transaction to another tenant (cross-tenant transfer)."""
    engine = get_engine()
    tx = engine.current_transaction.get()
    if tx is None:
        raise RuntimeError("switch_tenant() outside a transaction")
    tenancy.current_tenant.set(int(tenant_id))
    if isinstance(engine, PostgresEngine):
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
