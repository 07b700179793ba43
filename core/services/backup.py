"""Backup and restore of every tenant or of one (``xinfang backup`` / ``xinfang restore``).

One logical format on both engines, written and read through the owner connection
(``DATABASE_ADMIN_URL``): a gzip-compressed file of JSON lines —

1. a header: format and version, scope (``all`` or ``tenant``), the applied migrations,
   a key check (an HMAC under the secret key, never the key) and each table's columns;
2. per table, in foreign-key order: ``{"table": name}`` then one JSON array per row;
3. a trailer with the row count of each table — a file without it is refused.

Values are stored as the database holds them (JSON columns as their text, times in ISO
form), so a restore writes back exactly what was read. Encrypted personal data stays
encrypted: the file is as sensitive as the database (names, password hashes, ciphertexts)
but useless for ID numbers and phones without the secret key.

On PostgreSQL the owner is under row-level security too (FORCE); each backup or restore
transaction sets ``app.all_tenants`` so the owner's maintenance policy
(``core.db.rls.OWNER_POLICY``) lets it read and write every tenant's rows.

Restore rules (docs: deploy/README.md, "Backup and restore"):
- the target runs the same migrations as the backup (restore first, upgrade after);
- a full backup goes into a freshly migrated, empty database;
- ``--tenant`` replaces that tenant's rows and nothing else, in one transaction; row ids
  are kept, so an id held by another tenant stops the restore before anything changes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from graphlib import TopologicalSorter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

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
from core.errors import Conflict, InvalidInput, NotFound
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


# --- backup ------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    scope: str
    tenants: list[str]
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _open_new(path: Path) -> IO[str]:
    # 0600 from the start: the file holds names, password hashes and ciphertexts.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return gzip.open(os.fdopen(fd, "wb"), "wt", encoding="utf-8")


def _line(out: IO[str], obj: Any) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


async def backup(rt: Runtime, path: Path, *, tenant_slug: str | None = None) -> BackupResult:
    """Write every table (or one tenant's rows and its tenant row) to ``path``."""
    if await asyncio.to_thread(path.exists):
        raise Conflict("backup_file_exists", f"文件 {path} 已存在，请换一个文件名。", field="file")
    if not await asyncio.to_thread(path.parent.is_dir):
        raise InvalidInput("backup_dir_missing", f"目录 {path.parent} 不存在。", field="file")
    specs = _specs()
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    try:
        async with _transaction(write=False) as db:
            tenants = await db.fetch("SELECT id, slug FROM tenant ORDER BY id")
            scope_id: int | None = None
            if tenant_slug is not None:
                match = [t for t in tenants if t[1] == tenant_slug]
                if not match:
                    raise NotFound(
                        "tenant_not_found", f"机构 {tenant_slug} 不存在。", field="tenant"
                    )
                scope_id, tenants = int(match[0][0]), match
            header = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "scope": "all" if scope_id is None else "tenant",
                "tenant": None if scope_id is None else {"id": scope_id, "slug": tenant_slug},
                "created_at": rt.clock.now().isoformat(),
                "engine": "postgresql" if db.pg else "sqlite",
                "app_version": _app_version(),
                "migrations": await _migrations(db),
                "key_check": _key_check(rt),
                "tables": [{"name": s.name, "columns": list(s.columns)} for s in specs],
            }
            with _open_new(partial) as out:
                _line(out, header)
                for spec in specs:
                    _line(out, {"table": spec.name})
                    rows[spec.name] = 0
                    sql = f"SELECT {', '.join(map(_q, spec.columns))} FROM {_q(spec.name)}"
                    args: tuple[Any, ...] = ()
                    if scope_id is not None:
                        if not spec.tenant_owned and spec.name != "tenant":
                            continue  # global tables (work calendar) are not a tenant's
                        sql += f" WHERE {'tenant_id' if spec.tenant_owned else 'id'} = {db.ph(1)}"
                        args = (scope_id,)
                    async for row in db.stream(sql + " ORDER BY id", *args):
                        _line(out, spec.encode(row))
                        rows[spec.name] += 1
                _line(out, {"end": True, "rows": rows})
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path, str(header["scope"]), [str(t[1]) for t in tenants], rows)


# --- restore -----------------------------------------------------------------------------


class _Reader:
    """The backup's lines; any damage becomes one clear refusal (nothing is committed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._lines: Iterator[str] = iter(())
        self._back: list[Any] = []

    def __enter__(self) -> _Reader:
        self._file = gzip.open(self.path, "rt", encoding="utf-8")
        self._lines = iter(self._file)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def push(self, line: Any) -> None:
        """Give back a line read one too far."""
        self._back.append(line)

    def next(self) -> Any:
        if self._back:
            return self._back.pop()
        try:
            line = next(self._lines)
            return json.loads(line)
        except StopIteration:
            raise self.corrupt("文件不完整（缺少结尾）") from None
        except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
            raise self.corrupt(f"无法读取：{exc}") from None

    def corrupt(self, why: str) -> InvalidInput:
        return InvalidInput(
            "backup_corrupt",
            f"备份文件 {self.path.name} 已损坏或不是备份文件：{why}。",
            field="file",
        )


def read_header(path: Path) -> dict[str, Any]:
    with _Reader(path) as reader:
        header = reader.next()
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Reader(path).corrupt("文件头不是 xinfang 备份")
    if header.get("version") != FORMAT_VERSION:
        raise InvalidInput(
            "backup_format_unsupported",
            f"备份格式版本 {header.get('version')} 不受本程序支持（支持 {FORMAT_VERSION}）。",
            field="file",
        )
    scope, tenant = header.get("scope"), header.get("tenant")
    if (
        not isinstance(header.get("migrations"), list)
        or not isinstance(header.get("tables"), list)
        or not isinstance(header.get("key_check"), str)
        or scope not in {"all", "tenant"}
        or (scope == "tenant" and not (isinstance(tenant, dict) and "slug" in tenant))
    ):
        raise _Reader(path).corrupt("文件头不完整")
    return header


@dataclass
class RestoreResult:
    scope: str
    tenants: list[str]
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


async def restore(
    rt: Runtime,
    path: Path,
    *,
    tenant_slug: str | None = None,
    allow_other_key: bool = False,
) -> RestoreResult:
    """Restore a backup: the whole database (into an empty one) or one tenant."""
    if not await asyncio.to_thread(path.is_file):
        raise NotFound("backup_file_missing", f"备份文件 {path} 不存在。", field="file")
    header = read_header(path)
    if header["scope"] == "tenant" and tenant_slug is None:
        raise InvalidInput(
            "backup_is_one_tenant",
            f"这是机构 {header['tenant']['slug']} 的备份，请加 --tenant {header['tenant']['slug']}。",
            field="tenant",
        )
    if header["scope"] == "tenant" and tenant_slug != header["tenant"]["slug"]:
        raise InvalidInput(
            "backup_other_tenant",
            f"这是机构 {header['tenant']['slug']} 的备份，不是 {tenant_slug} 的。",
            field="tenant",
        )
    if header["key_check"] != _key_check(rt) and not allow_other_key:
        raise Conflict(
            "backup_key_mismatch",
            "备份是用另一个主密钥（XINFANG_SECRET_KEY）写入的：恢复后身份证号、手机号等"
            "将无法解密，也无法按号码查找。请使用备份时的主密钥；确需如此恢复，"
            "加 --allow-other-key。",
            field="XINFANG_SECRET_KEY",
        )
    specs = {s.name: s for s in _specs()}
    async with _transaction(write=True) as db:
        if await _migrations(db) != header["migrations"]:
            raise Conflict(
                "backup_version_mismatch",
                "备份来自另一数据库版本（迁移记录不同）：请先用与备份相同版本的 xinfang 运行 "
                "migrate 并恢复，再升级。",
            )
        for table in header["tables"]:
            spec = specs.get(table["name"])
            if spec is None or list(spec.columns) != table["columns"]:
                raise Conflict(
                    "backup_version_mismatch",
                    f"备份中的表 {table['name']} 与当前数据库结构不同：请用与备份相同版本的 xinfang 恢复。",
                )
        if {t["name"] for t in header["tables"]} != set(specs):
            raise Conflict(
                "backup_version_mismatch",
                "备份中的表与当前数据库不同：请用与备份相同版本的 xinfang 恢复。",
            )
        with _Reader(path) as reader:
            reader.next()  # header
            if tenant_slug is None:
                result = await _restore_all(db, reader, specs)
            else:
                result = await _restore_tenant(db, reader, specs, tenant_slug)
    return result


async def _restore_all(db: _Db, reader: _Reader, specs: dict[str, _Spec]) -> RestoreResult:
    if await db.fetch("SELECT id FROM tenant LIMIT 1"):
        raise Conflict(
            "restore_target_not_empty",
            "目标数据库已有机构数据：整库恢复只能恢复到新建并已迁移（xinfang migrate）的空数据库；"
            "恢复单个机构请加 --tenant。",
        )
    # A freshly migrated database already holds the seeded work calendar and the audit
    # rows of that seeding (append-only: its trigger is lifted for the replacement).
    async with _triggers_off(db, list(specs)):
        for spec in reversed(list(specs.values())):
            await db.execute(f"DELETE FROM {_q(spec.name)}")
        rows = await _load(db, reader, specs, keep=lambda spec, row: True)
    tenants = [str(r[0]) for r in await db.fetch("SELECT slug FROM tenant ORDER BY id")]
    return RestoreResult("all", tenants, rows)


async def _restore_tenant(
    db: _Db, reader: _Reader, specs: dict[str, _Spec], slug: str
) -> RestoreResult:
    # The tenant table comes first (every tenant table references it).
    first = reader.next()
    if first != {"table": "tenant"}:
        raise reader.corrupt("缺少机构表")
    tenant_spec = specs["tenant"]
    theirs: tuple[Any, ...] | None = None
    seen = 0
    while isinstance(line := reader.next(), list):
        seen += 1
        row = tenant_spec.decode(line)
        if row[tenant_spec.columns.index("slug")] == slug:
            theirs = row
    reader.push(line)
    if theirs is None:
        raise NotFound("tenant_not_found", f"备份中没有机构 {slug}。", field="tenant")
    tid = int(theirs[tenant_spec.columns.index("id")])
    by_id = await db.fetch(f"SELECT slug FROM tenant WHERE id = {db.ph(1)}", tid)
    by_slug = await db.fetch(f"SELECT id FROM tenant WHERE slug = {db.ph(1)}", slug)
    if (by_id and by_id[0][0] != slug) or (by_slug and by_slug[0][0] != tid):
        raise Conflict(
            "restore_id_conflict",
            f"目标数据库中机构编号 {tid} 或标识 {slug} 已属于另一个机构：单个机构只能恢复到"
            "它原来所在的部署（或没有编号冲突的数据库），未做任何更改。",
            field="tenant",
        )
    owned = [s for s in specs.values() if s.tenant_owned]
    async with _triggers_off(db, [s.name for s in owned]):
        for spec in reversed(owned):
            await db.execute(f"DELETE FROM {_q(spec.name)} WHERE tenant_id = {db.ph(1)}", tid)
        cols = tenant_spec.columns
        if by_id:
            rest = cols[1:]
            sets = ", ".join(f"{_q(c)} = {db.ph(1, i + 1)}" for i, c in enumerate(rest))
            await db.execute(
                f"UPDATE tenant SET {sets} WHERE id = {db.ph(1, len(rest) + 1)}", *theirs[1:], tid
            )
        else:
            await _insert(db, tenant_spec, [theirs], check_ids=False)
        rows = await _load(
            db,
            reader,
            specs,
            keep=lambda spec, row: (
                spec.tenant_owned and row[spec.columns.index("tenant_id")] == tid
            ),
            check_ids=True,
            seen={"tenant": seen},
        )
    return RestoreResult("tenant", [slug], {"tenant": 1, **rows})


@asynccontextmanager
async def _triggers_off(db: _Db, tables: list[str]) -> AsyncIterator[None]:
    """Append-only triggers (case history) would refuse the tenant's old rows being
    replaced; switched off inside this transaction only (a failure rolls it back)."""
    if db.pg:
        names = [
            r[0]
            for r in await db.fetch(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND c.relname = ANY($1::text[])",
                tables,
            )
        ]
        for name in names:
            await db.execute(f"ALTER TABLE {_q(name)} DISABLE TRIGGER USER")
        yield
        for name in names:
            await db.execute(f"ALTER TABLE {_q(name)} ENABLE TRIGGER USER")
        return
    triggers = await db.fetch(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        f" AND tbl_name IN ({db.ph(len(tables))})",
        *tables,
    )
    for name, _ in triggers:
        await db.execute(f"DROP TRIGGER {_q(name)}")
    yield
    for _, sql in triggers:
        await db.execute(sql)


async def _load(
    db: _Db,
    reader: _Reader,
    specs: dict[str, _Spec],
    *,
    keep: Callable[[_Spec, tuple[Any, ...]], bool],
    check_ids: bool = False,
    seen: dict[str, int] | None = None,
) -> dict[str, int]:
    """Insert the rest of the file's rows that ``keep`` selects; check the trailer
    against every row read (``seen``: tables the caller already read)."""
    seen = dict(seen or {})
    loaded: dict[str, int] = {}
    spec: _Spec | None = None
    batch: list[tuple[Any, ...]] = []
    while True:
        line = reader.next()
        if isinstance(line, list):
            if spec is None or len(line) != len(spec.columns):
                raise reader.corrupt("数据行与表结构不符")
            seen[spec.name] += 1
            row = spec.decode(line)
            if keep(spec, row):
                batch.append(row)
                if len(batch) >= BATCH:
                    await _insert(db, spec, batch, check_ids=check_ids)
                    loaded[spec.name] += len(batch)
                    batch = []
            continue
        if spec is not None and batch:
            await _insert(db, spec, batch, check_ids=check_ids)
            loaded[spec.name] += len(batch)
            batch = []
        if isinstance(line, dict) and line.get("table") in specs:
            spec = specs[line["table"]]
            seen[spec.name] = loaded[spec.name] = 0
            continue
        if isinstance(line, dict) and line.get("end") is True:
            if line.get("rows") != seen:
                raise reader.corrupt("行数与文件结尾记录不符")
            break
        raise reader.corrupt("无法识别的内容")
    await _bump_sequences(db, [s for s in specs.values() if loaded.get(s.name)])
    return loaded


async def _insert(db: _Db, spec: _Spec, rows: list[tuple[Any, ...]], *, check_ids: bool) -> None:
    if check_ids:
        # Row ids are kept; one held by another tenant means this is not the deployment
        # the tenant came from: stop before writing (the transaction rolls back).
        ids = [r[spec.columns.index("id")] for r in rows]
        taken = await db.fetch(
            f"SELECT id FROM {_q(spec.name)} WHERE id IN ({db.ph(len(ids))}) LIMIT 1", *ids
        )
        if taken:
            raise Conflict(
                "restore_id_conflict",
                f"目标数据库的表 {spec.name} 中编号 {taken[0][0]} 已被另一个机构使用：单个机构只能"
                "恢复到它原来所在的部署（或没有编号冲突的数据库），未做任何更改。",
                field="tenant",
            )
    cols = ", ".join(map(_q, spec.columns))
    sql = f"INSERT INTO {_q(spec.name)} ({cols}) VALUES ({db.ph(len(spec.columns))})"
    await db.executemany(sql, rows)


async def _bump_sequences(db: _Db, specs: list[_Spec]) -> None:
    """Rows came with their ids: move each sequence past them (never back)."""
    if not db.pg:
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for spec in specs:
        seq = await db.fetch("SELECT pg_get_serial_sequence($1, 'id')", _q(spec.name))
        if not seq or seq[0][0] is None:
            continue
        name = seq[0][0]  # already quoted by PostgreSQL where needed
        await db.execute(
            f"SELECT setval('{name}', GREATEST((SELECT max(id) FROM {_q(spec.name)}),"
            f" (SELECT last_value FROM {name})))"
        )
