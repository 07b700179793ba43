"""Backup and restore, as the database owner."""

from __future__ import annotations

from pathlib import Path

import click

from core.console import run_async, with_owner_db
from core.settings import load_settings


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug); default all.")
def backup(file: Path, slug: str | None) -> None:
    """Write a backup of every tenant (or one) to FILE, as the owner (DATABASE_ADMIN_URL).

    A gzip file of JSON lines; personal data stays encrypted, so keep the secret key
    apart from it. See deploy/README.md, "Backup and restore"."""
    from core.services import backup as svc

    res = run_async(
        lambda: with_owner_db(load_settings(), lambda rt: svc.backup(rt, file, tenant_slug=slug))
    )
    what = f"机构 {slug}" if slug else f"{len(res.tenants)} 个机构"
    click.echo(f"已备份 {what}：{len(res.rows)} 张表，{res.total} 行 → {res.path}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tenant",
    "slug",
    default=None,
    help="Replace only this tenant's data (from a one-tenant or a full backup).",
)
@click.option(
    "--allow-other-key",
    is_flag=True,
    help="Restore although the backup was written under another secret key "
    "(its encrypted personal data will not decrypt).",
)
def restore(file: Path, slug: str | None, allow_other_key: bool) -> None:
    """Restore FILE: the whole backup into a freshly migrated empty database, or with
    --tenant one tenant's data, leaving every other tenant as it is."""
    from core.services import backup as svc

    res = run_async(
        lambda: with_owner_db(
            load_settings(),
            lambda rt: svc.restore(rt, file, tenant_slug=slug, allow_other_key=allow_other_key),
        )
    )
    click.echo(f"已恢复 {'、'.join(res.tenants) or '（无机构）'}：{res.total} 行")


commands = (
    backup,
    restore,
)
