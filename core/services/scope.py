"""The one edge of the services: who acts, for which tenant, with which runtime.

Every service function takes a :class:`Scope` first. The web builds it once per request
(Litestar dependency ``scope``), the CLI once per command, a job once per tenant it
works on. Services read ``scope.tenant_id`` for their queries (through the scoped
helpers below, never a hand-written tenant condition) and ``scope.actor`` where a
person must be acting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from piccolo.query.methods.count import Count
from piccolo.query.methods.delete import Delete
from piccolo.query.methods.exists import Exists
from piccolo.query.methods.objects import Objects
from piccolo.query.methods.select import Select
from piccolo.query.methods.update import Update
from piccolo.table import Table

from core.db import scoped
from core.db.engine import switch_tenant, tenant_tx
from core.errors import PermissionDenied
from core.principal import Principal
from core.runtime import Runtime

T = TypeVar("T", bound=Table)


@dataclass(frozen=True, slots=True)
class Scope:
    rt: Runtime
    tenant_id: int
    tenant_slug: str
    principal: Principal | None = None
    """The acting staff member; None when the system acts (a job, an admin command, a
    public form), and services that need a person refuse then."""

    @classmethod
    def of(cls, rt: Runtime, principal: Principal) -> Scope:
        return cls(rt, principal.tenant_id, principal.tenant_slug, principal)

    @classmethod
    def system(cls, rt: Runtime, tenant_id: int, tenant_slug: str) -> Scope:
        return cls(rt, tenant_id, tenant_slug, None)

    @property
    def actor(self) -> Principal:
        """The acting person; a system scope has none."""
        if self.principal is None:
            raise PermissionDenied("no_actor", "此操作需要以工作人员身份登录后进行。")
        return self.principal

    @property
    def user_id(self) -> int | None:
        return self.principal.user_id if self.principal else None

    def for_tenant(self, tenant_id: int, tenant_slug: str) -> Scope:
        """The same actor and runtime on another tenant (cross-tenant transfer)."""
        return replace(self, tenant_id=tenant_id, tenant_slug=tenant_slug)

    @asynccontextmanager
    async def tx(self, *, write: bool = True) -> AsyncIterator[Any]:
        async with tenant_tx(self.tenant_id, write=write) as tx:
            yield tx

    async def switch(self) -> None:
        """Re-scope the current transaction to this scope's tenant."""
        await switch_tenant(self.tenant_id)

    # The tenant-scoped queries (core.db.scoped) bound to this scope's tenant.
    def select(self, table: type[Table], *columns: Any) -> Select[Any]:
        return scoped.select(self.tenant_id, table, *columns)

    def objects(self, table: type[T]) -> Objects[T]:
        return scoped.objects(self.tenant_id, table)

    def count(self, table: type[Table]) -> Count:
        return scoped.count(self.tenant_id, table)

    def exists(self, table: type[Table]) -> Exists[Any]:
        return scoped.exists(self.tenant_id, table)

    def update(self, table: type[Table], values: dict[Any, Any]) -> Update[Any]:
        return scoped.update(self.tenant_id, table, values)

    def delete(self, table: type[Table]) -> Delete:
        return scoped.delete(self.tenant_id, table)
