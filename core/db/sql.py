"""Thin SQL helpers for the hot paths (deadline tick, delivery), inside ``tenant_tx``.

Statements are written once with ``$n`` placeholders; SQLite receives them as ``?n``.
PostgreSQL runs them on the transaction's asyncpg connection directly (no per-query
Piccolo building: the tick handles up to millions of rows), SQLite through the same
connection Piccolo opened for the transaction, with Piccolo's type converters.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from core.db import tenancy
from core.db.engine import get_engine, is_postgres

_PARAM = re.compile(r"\$(\d+)")


def _tx() -> Any:
    tx = get_engine().current_transaction.get()
    if tx is None:
        raise RuntimeError("raw SQL outside tenant_tx()")
    return tx


def _sqlite(sql: str) -> str:
    tenancy.check(sql)
    return _PARAM.sub(r"?\1", sql)


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    tx = _tx()
    if is_postgres():
        return [dict(r) for r in await tx.connection.fetch(sql, *args)]
    cursor = await tx.connection.execute(_sqlite(sql), args)
    rows = await cursor.fetchall()
    await cursor.close()
    return [dict(r) for r in rows]


async def execute(sql: str, *args: Any) -> None:
    tx = _tx()
    if is_postgres():
        await tx.connection.execute(sql, *args)
    else:
        cursor = await tx.connection.execute(_sqlite(sql), args)
        await cursor.close()


async def executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    tx = _tx()
    if is_postgres():
        await tx.connection.executemany(sql, rows)
    else:
        await tx.connection.executemany(_sqlite(sql), rows)


async def stream(sql: str, *args: Any, chunk: int = 5000) -> AsyncIterator[list[dict[str, Any]]]:
    """Rows in chunks: a server-side cursor on PostgreSQL, so memory stays flat."""
    tx = _tx()
    if is_postgres():
        cursor = await tx.connection.cursor(sql, *args)
        while True:
            rows = await cursor.fetch(chunk)
            if not rows:
                return
            yield [dict(r) for r in rows]
    else:
        cur = await tx.connection.execute(_sqlite(sql), args)
        try:
            while True:
                rows = await cur.fetchmany(chunk)
                if not rows:
                    return
                yield [dict(r) for r in rows]
        finally:
            await cur.close()
