"""Setting up: migrate, init, demo data."""

from __future__ import annotations

import asyncio

import click

from core.console import run_async, with_db
from core.settings import load_settings


@click.command()
def migrate() -> None:
    """Apply database migrations (uses DATABASE_ADMIN_URL on PostgreSQL), create the
    application role with its grants and row-level security, seed the work calendar."""
    from core.bootstrap import migrate as do_migrate

    settings = load_settings()
    for line in asyncio.run(do_migrate(settings)):
        click.echo(line)


@click.command()
def init() -> None:
    """Create the data directory and secret key (embedded default) and migrate."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"数据目录：{settings.data_dir}")
    from core.bootstrap import migrate as do_migrate

    for line in asyncio.run(do_migrate(settings)):
        click.echo(line)


@click.command()
@click.option("--if-empty", is_flag=True, help="Only load when no tenant exists yet.")
def demo(if_empty: bool) -> None:
    """Load demo data: four tenants with departments, staff and cases; print the logins."""
    from core.demo import load_demo

    settings = load_settings()
    report = run_async(lambda: with_db(settings, lambda rt: load_demo(rt, if_empty=if_empty)))
    click.echo(report)


commands = (
    migrate,
    init,
    demo,
)
