"""Sector plugins per tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from core.console import run_async, system_scope, with_db
from core.settings import load_settings

if TYPE_CHECKING:
    from core.services.answers import PluginOut


@click.group()
def plugin() -> None:
    """Sector plugins per tenant: list, enable, disable, configure."""


@plugin.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
def plugin_list(tenant: str) -> None:
    """List installed plugins and whether the tenant enabled them."""
    from core.services import plugin_admin

    async def go(rt: Any) -> list[PluginOut]:
        return await plugin_admin.list_plugins(await system_scope(rt, tenant))

    for row in run_async(lambda: with_db(load_settings(), go)):
        state = "启用" if row.enabled else "未启用"
        click.echo(f"{row.name:<24} {state:<4} {row.title_zh}  {row.version}")


def _plugin_set(tenant: str, name: str, enabled: bool | None, config: Any = None) -> None:
    import json

    from core.services import plugin_admin

    async def go(rt: Any) -> PluginOut:
        sc = await system_scope(rt, tenant)
        return await plugin_admin.configure(sc, name, enabled=enabled, config=config)

    row = run_async(lambda: with_db(load_settings(), go))
    state = "启用" if row.enabled else "未启用"
    click.echo(f"{tenant}: {name} {state}；设置 {json.dumps(row.config, ensure_ascii=False)}")


@plugin.command("enable")
@click.option("--tenant", required=True)
@click.argument("name")
def plugin_enable(tenant: str, name: str) -> None:
    """Enable plugin NAME for the tenant."""
    _plugin_set(tenant, name, True)


@plugin.command("disable")
@click.option("--tenant", required=True)
@click.argument("name")
def plugin_disable(tenant: str, name: str) -> None:
    """Disable plugin NAME for the tenant (its data stays)."""
    _plugin_set(tenant, name, False)


@plugin.command("config")
@click.option("--tenant", required=True)
@click.argument("name")
@click.argument("settings_json")
def plugin_config(tenant: str, name: str, settings_json: str) -> None:
    """Replace the tenant's settings of plugin NAME with SETTINGS_JSON (a JSON object)."""
    import json

    try:
        config = json.loads(settings_json)
    except ValueError as exc:
        raise click.ClickException(f"设置不是合法的 JSON：{exc}") from None
    _plugin_set(tenant, name, None, config)


commands = (plugin,)
