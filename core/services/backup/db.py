"""What backup and restore share: the format, each table's columns and value codecs
(parents before children), and one connection on either engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from graphlib import TopologicalSorter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Serial,
    SmallInt,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import Column
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from core.db.engine import get_engine, registered_tables
from core.db.rls import ALL_TENANTS_SETTING, OWNER_POLICY
from core.errors import Conflict
from core.runtime import Runtime

FORMAT = "xinfang-backup"
FORMAT_VERSION = 1
BATCH = 500
_KEY_CHECK_TEXT = "xinfang backup key check"


# --- tables and values ---------------------------------------------------------------

_Enc = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _iso(value: Any) -> Any:
    return value.isoformat()


_CODECS: dict[type[Column], tuple[_Enc, _Enc]] = {
    Timestamptz: (_iso, datetime.fromisoformat),
    Date: (_iso, date.fromisoformat),
    Time: (_iso, time.fromisoformat),
    # JSON arrives as its text on both engines (no load_json) and goes back as text.
    **{c: (_same, _same) for c in (JSON, Serial, ForeignKey, Integer, BigInt, SmallInt)},
    **{c: (_same, _same) for c in (Varchar, Text, Boolean)},
}


def _codec(column: Column) -> tuple[_Enc, _Enc]:
    for cls in type(column).__mro__:
        if cls in _CODECS:
            return _CODECS[cls]
    # A new column type must be taught here before it can be backed up faithfully.
    raise TypeError(f"backup: no codec for {type(column).__name__} ({column._meta.name})")


@dataclass(frozen=True)
class _Spec:
    name: str
    columns: tuple[str, ...]
    encoders: tuple[_Enc, ...]
    decoders: tuple[_Enc, ...]
    tenant_owned: bool

    @classmethod
    def of(cls, table: type[Table]) -> _Spec:
        cols = table._meta.columns
        codecs = [_codec(c) for c in cols]
        return cls(
            name=table._meta.tablename,
            columns=tuple(c._meta.db_column_name for c in cols),
            encoders=tuple(e for e, _ in codecs),
            decoders=tuple(d for _, d in codecs),
            tenant_owned=any(c._meta.db_column_name == "tenant_id" for c in cols),
        )

    def encode(self, row: tuple[Any, ...]) -> list[Any]:
        return [None if v is None else e(v) for e, v in zip(self.encoders, row, strict=True)]

    def decode(self, row: list[Any]) -> tuple[Any, ...]:
        return tuple(None if v is None else d(v) for d, v in zip(self.decoders, row, strict=True))


def _specs() -> list[_Spec]:
    """Every data table, parents before children (foreign keys)."""
    tables = registered_tables()
    graph: TopologicalSorter[type[Table]] = TopologicalSorter()
    for table in tables:
        graph.add(
            table,
            *(fk._foreign_key_meta.resolved_references for fk in table._meta.foreign_key_columns),
        )
    return [_Spec.of(t) for t in graph.static_order() if t in tables]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- one connection, either engine ------------------------------------------------------


class _Db:
    """The transaction's own connection: asyncpg on PostgreSQL, aiosqlite on SQLite."""

    def __init__(self, tx: Any, pg: bool) -> None:
        self.conn = tx.connection
        self.pg = pg

    def ph(self, n: int, start: int = 1) -> str:
        return ", ".join(f"${i}" if self.pg else "?" for i in range(start, start + n))

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.pg:
            return [tuple(r.values()) for r in await self.conn.fetch(sql, *args)]
        cursor = await self.conn.execute(sql, args)
        try:
            return [tuple(r.values()) for r in await cursor.fetchall()]
        finally:
            await cursor.close()

    async def stream(self, sql: str, *args: Any) -> AsyncIterator[tuple[Any, ...]]:
        if self.pg:
            async for r in self.conn.cursor(sql, *args, prefetch=BATCH):
                yield tuple(r.values())
            return
        cursor = await self.conn.execute(sql, args)
        try:
            while batch := await cursor.fetchmany(BATCH):
                for r in batch:
                    yield tuple(r.values())
        finally:
            await cursor.close()

    async def execute(self, sql: str, *args: Any) -> None:
        if self.pg:
            await self.conn.execute(sql, *args)
        else:
            await (await self.conn.execute(sql, args)).close()

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            await self.conn.executemany(sql, rows)
        else:
            await (await self.conn.executemany(sql, rows)).close()


@asynccontextmanager
async def _transaction(*, write: bool) -> AsyncIterator[_Db]:
    from piccolo.engine.sqlite import SQLiteEngine, TransactionType

    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        async with engine.transaction() as tx:
            db = _Db(tx, pg=True)
            if not write:  # one snapshot for the whole file, as pg_dump takes
                await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            await db.execute("SELECT set_config($1, 'on', true)", ALL_TENANTS_SETTING)
            await _check_sees_all_tenants(db)
            yield db
    else:
        assert isinstance(engine, SQLiteEngine)
        kind = TransactionType.immediate if write else TransactionType.deferred
        async with engine.transaction(transaction_type=kind) as tx:
            yield _Db(tx, pg=False)


async def _check_sees_all_tenants(db: _Db) -> None:
    """Refuse rather than back up nothing: the app role (or an owner whose tables lack the
    maintenance policy, before `xinfang migrate`) sees no tenant's rows here."""
    privileged = await db.fetch(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    if privileged and privileged[0][0]:
        return
    blind = await db.fetch(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relrowsecurity"
        " AND c.relnamespace = current_schema()::regnamespace AND NOT EXISTS ("
        "  SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = $1"
        "  AND EXISTS (SELECT 1 FROM unnest(p.polroles) r WHERE pg_has_role(r, 'MEMBER')))"
        " ORDER BY 1",
        OWNER_POLICY,
    )
    if blind:
        raise Conflict(
            "backup_needs_owner",
            "当前数据库连接看不到所有机构的数据（表 "
            + "、".join(r[0] for r in blind[:3])
            + " 等）：备份与恢复需用数据表所有者的连接 DATABASE_ADMIN_URL，"
            "并先用本版本运行 xinfang migrate。",
        )


async def _migrations(db: _Db) -> list[list[str]]:
    return [[a, n] for a, n in await db.fetch("SELECT app_name, name FROM migration ORDER BY 1, 2")]


def _key_check(rt: Runtime) -> str:
    return rt.keys.blind_index(_KEY_CHECK_TEXT, purpose="backup.key_check")


def _app_version() -> str:
    try:
        return version("xinfang")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"
