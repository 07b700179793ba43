"""Tenants (organizations)."""

from __future__ import annotations

import click

from core.console import run_async, with_db
from core.settings import load_settings


@click.group()
def tenant() -> None:
    """Tenants (organizations)."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--rule-pack", default="cn-2022", show_default=True)
@click.option("--plugin", "plugins", multiple=True, help="Sector plugin to enable.")
def tenant_create(slug: str, name: str, rule_pack: str, plugins: tuple[str, ...]) -> None:
    """Create a tenant."""
    from core.services import tenants

    info = run_async(
        lambda: with_db(
            load_settings(),
            lambda rt: tenants.create_tenant(
                rt, slug=slug, name=name, rule_pack=rule_pack, plugins=list(plugins)
            ),
        )
    )
    click.echo(f"已创建机构 {info.slug}（id {info.id}）")


@tenant.command("list")
def tenant_list() -> None:
    """List tenants."""
    from core.services import tenants

    for row in run_async(lambda: with_db(load_settings(), tenants.list_tenants)):
        click.echo(f"{row.slug:<20} {row.name}  [{row.rule_pack}]")


commands = (tenant,)
