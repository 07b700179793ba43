"""The tenant wall where the database has none (SQLite).

On PostgreSQL row-level security compares every row's ``tenant_id`` with the
transaction's ``app.tenant_id``. SQLite has no such thing: there the services' tenant
condition is the only wall, and it comes from one place, :mod:`core.db.scoped`. This
module checks that it did: every statement run inside a tenant transaction that names a
tenant table must also name ``tenant_id``. One that does not is refused
(``XINFANG_TENANCY_CHECK=raise``, what the test suite runs with), logged
(``log``, the default: the statement text only, parameters are never in it) or let
through (``off``).
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar

log = logging.getLogger(__name__)

current_tenant: ContextVar[int | None] = ContextVar("xinfang_tenant", default=None)
"""The tenant of the transaction this task is in (None: global or no transaction)."""

_TABLE = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?', re.I)
_tenant_tables: frozenset[str] | None = None


class UnscopedQuery(RuntimeError):
    """A statement on a tenant table without a tenant condition, inside a tenant
    transaction: a missing wall, never a user's mistake."""


def tenant_tables() -> frozenset[str]:
    """Names of every registered table with a ``tenant_id`` column (plugins' included)."""
    global _tenant_tables
    if _tenant_tables is None:
        from core.db.engine import registered_tables

        _tenant_tables = frozenset(
            t._meta.tablename
            for t in registered_tables()
            if any(c._meta.name == "tenant_id" for c in t._meta.columns)
        )
    return _tenant_tables


def forget_tables() -> None:
    """Plugins registered new tables: recompute on the next check."""
    global _tenant_tables
    _tenant_tables = None


def mode() -> str:
    return os.environ.get("XINFANG_TENANCY_CHECK", "log")


def unscoped_tables(sql: str) -> list[str]:
    """Tenant tables ``sql`` touches although it never names ``tenant_id``."""
    if "tenant_id" in sql:
        return []
    known = tenant_tables()
    return sorted({m for m in _TABLE.findall(sql) if m in known})


def check(sql: str) -> None:
    """Refuse or report ``sql`` when it runs in a tenant transaction without the wall."""
    if current_tenant.get() is None:
        return
    how = mode()
    if how == "off":
        return
    tables = unscoped_tables(sql)
    if not tables:
        return
    if how == "raise":
        raise UnscopedQuery(f"query on {', '.join(tables)} without tenant_id: {sql}")
    log.error("query on %s without tenant_id: %s", ", ".join(tables), sql)
