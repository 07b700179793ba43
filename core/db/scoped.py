"""Queries already limited to one tenant: the tenant condition is written here once.

``select(tid, PetitionCase, PetitionCase.id).where(PetitionCase.id == 5)`` is
``PetitionCase.select(PetitionCase.id).where(PetitionCase.tenant_id == tid).where(…)``;
Piccolo joins successive ``where`` calls with AND. On PostgreSQL row-level security
stands behind it; on SQLite it is the wall, and :mod:`core.db.tenancy` refuses a
statement on a tenant table that lacks it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from piccolo.query.methods.count import Count
from piccolo.query.methods.delete import Delete
from piccolo.query.methods.exists import Exists
from piccolo.query.methods.objects import Objects
from piccolo.query.methods.select import Select
from piccolo.query.methods.update import Update
from piccolo.table import Table

T = TypeVar("T", bound=Table)


def _tenant(table: type[Table]) -> Any:
    column = getattr(table, "tenant_id", None)
    if column is None:
        raise TypeError(f"{table.__name__} has no tenant_id: use the table directly")
    return column


def select(tenant_id: int, table: type[Table], *columns: Any) -> Select[Any]:
    return table.select(*columns).where(_tenant(table) == tenant_id)


def objects(tenant_id: int, table: type[T]) -> Objects[T]:
    return table.objects().where(_tenant(table) == tenant_id)


def count(tenant_id: int, table: type[Table]) -> Count:
    return table.count().where(_tenant(table) == tenant_id)


def exists(tenant_id: int, table: type[Table]) -> Exists[Any]:
    return table.exists().where(_tenant(table) == tenant_id)


def update(tenant_id: int, table: type[Table], values: dict[Any, Any]) -> Update[Any]:
    return table.update(values).where(_tenant(table) == tenant_id)


def delete(tenant_id: int, table: type[Table]) -> Delete:
    return table.delete().where(_tenant(table) == tenant_id)
