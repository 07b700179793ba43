"""Open311 API keys."""

from __future__ import annotations

from typing import Any

import click

from core.console import run_async, system_scope, with_db
from core.settings import load_settings


@click.group("open311-key")
def open311_key() -> None:
    """Open311 GeoReport v2 API keys."""


@open311_key.command("create")
@click.option("--tenant", required=True)
def open311_key_create(tenant: str) -> None:
    """Issue (or rotate) the tenant's Open311 API key and print it once."""
    from core.services import open311

    async def go(rt: Any) -> str:
        return await open311.create_key(await system_scope(rt, tenant))

    key = run_async(lambda: with_db(load_settings(), go))
    click.echo(key)


commands = (open311_key,)
