"""What every command line needs — core's (`core.cli`) and the daemon's (`daemon.cli`):
logging, the database bound for one command, and refusals printed as click errors.

Outside the layers (like `core.bootstrap`), so the peers on top can share it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from core.errors import DomainError
from core.settings import Settings

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.services.scope import Scope

T = TypeVar("T")


def refusal(exc: DomainError) -> click.ClickException:
    where = f"（{exc.field}）" if exc.field else ""
    return click.ClickException(f"{exc.message}{where} [{exc.code}]")


def run_async(coro_factory: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    except DomainError as exc:
        raise refusal(exc) from None


def setup_logging(settings: Settings) -> None:
    from core import logs

    logs.configure(settings.log_level)


async def with_db(
    settings: Settings, fn: Callable[[Any], Awaitable[T]], *, redis: bool = False
) -> T:
    """Run ``fn(rt)`` with the database bound (and Redis, the embedded one if so set),
    its writes audited as the command line's."""
    from core.runtime import Runtime
    from core.services import audit

    if redis:
        from core.bootstrap import open_resources

        async with open_resources(Runtime.build(settings), web=False) as rt:
            with audit.acting(audit.CLI):
                return await fn(rt)
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine

    rt = Runtime.build(settings)
    engine = make_engine(settings.database)
    bind_engine(engine)
    await open_engine(engine)
    try:
        with audit.acting(audit.CLI):
            return await fn(rt)
    finally:
        await close_engine(engine)


async def system_scope(rt: Runtime, tenant_slug: str) -> Scope:
    """The one scope of a command that works on one tenant (``--tenant`` slug, active):
    the system's, as nobody logs in at the command line (its writes are audited as
    ``cli``, see ``with_db``)."""
    from core.services.scope import Scope
    from core.services.tenants import get_tenant_by_slug

    tenant = await get_tenant_by_slug(rt, tenant_slug)
    return Scope.system(rt, tenant.id, tenant.slug)


async def with_owner_db(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(rt)`` on the owner connection (DATABASE_ADMIN_URL on PostgreSQL)."""
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime

    rt = Runtime.build(settings)
    engine = make_engine(settings.database, admin=True)
    bind_engine(engine)
    await open_engine(engine, pool_size=2)
    try:
        return await fn(rt)
    finally:
        await close_engine(engine)
