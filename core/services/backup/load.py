"""Restoring a backup: the whole database (into an empty, migrated one) or one tenant
(its rows replaced, in one transaction); a damaged file is refused before any change."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import Conflict, InvalidInput, NotFound
from core.runtime import Runtime
from core.services.backup.db import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    _Db,
    _key_check,
    _migrations,
    _q,
    _Spec,
    _specs,
    _transaction,
)


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
