"""Writing a backup: every table, or one tenant's rows and its tenant row, to a new
gzip file of JSON lines (written beside it, renamed when complete)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import Conflict, InvalidInput, NotFound
from core.runtime import Runtime
from core.services.backup.db import (
    FORMAT,
    FORMAT_VERSION,
    _app_version,
    _key_check,
    _migrations,
    _q,
    _specs,
    _transaction,
)


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
