"""Leader reception rota."""

from __future__ import annotations

from typing import Any

import click

from core.console import run_async, system_scope, with_db
from core.settings import load_settings


@click.group("rota")
def rota_group() -> None:
    """Leader reception rota: generate and publish slots (the worker generates hourly)."""


@rota_group.command("generate")
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: all).")
def rota_generate(slug: str | None) -> None:
    """Create the missing draft slots up to each template's horizon (idempotent)."""
    from core.services.rota.answers import GenerateAllResult, GenerateResult
    from core.services.rota.generation import generate, generate_all

    async def go(rt: Any) -> GenerateResult | GenerateAllResult:
        if slug is None:
            return await generate_all(rt)
        return await generate(await system_scope(rt, slug))

    res = run_async(lambda: with_db(load_settings(), go))
    click.echo(f"新建排班时段 {res.created} 个，无人可排 {res.unfilled} 个")


@rota_group.command("publish")
@click.option("--tenant", "slug", required=True)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--as", "username", default="admin", show_default=True, help="Acting admin user.")
def rota_publish(slug: str, until: Any, username: str) -> None:
    """Publish the tenant's draft slots from today (up to --until)."""
    from core.errors import NotAuthenticated, NotFound
    from core.services import users
    from core.services.rota.answers import PublishResult
    from core.services.rota.schemas import PublishIn
    from core.services.rota.slots import publish
    from core.services.scope import Scope

    async def go(rt: Any) -> PublishResult:
        system = await system_scope(rt, slug)  # only to find the acting admin
        try:
            actor = await users.principal_for(system, await users.user_id_of(system, username))
        except (NotFound, NotAuthenticated):  # unknown or deactivated
            actor = None
        if actor is None or not actor.has_any("admin", "supervisor"):
            raise click.ClickException(f"用户 {username} 不存在或不是管理员/督查督办")
        return await publish(Scope.of(rt, actor), PublishIn(until=until.date() if until else None))

    res = run_async(lambda: with_db(load_settings(), go))
    click.echo(f"已发布排班时段 {res.published} 个")


commands = (rota_group,)
