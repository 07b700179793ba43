"""The audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from core.console import run_async, setup_logging, system_scope, with_db
from core.settings import load_settings


@click.group("audit")
def audit_group() -> None:
    """Audit log (审计日志): verify the hash chains, export their heads, show entries."""


@audit_group.command("verify")
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: every chain).")
@click.option(
    "--heads",
    "heads_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Heads file exported earlier: each head in it must still be in the chain.",
)
def audit_verify(slug: str | None, heads_file: Path | None) -> None:
    """Check every link of the audit chains; exit 1 on any break."""
    from core.services import audit, tenants

    try:
        exported = audit.read_heads_file(heads_file) if heads_file else []
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

    async def go(rt: Any) -> tuple[list[Any], dict[int, str]]:
        names = {r["id"]: r["slug"] for r in await tenants.list_tenants(rt)}
        tid = (await system_scope(rt, slug)).tenant_id if slug else None
        return await audit.verify(rt, tid, exported), names

    reports, names = run_async(lambda: with_db(load_settings(), go))
    for r in reports:
        name = names.get(r.tenant_id, "（部署级）" if r.tenant_id == 0 else "（未知机构）")
        state = "完好" if r.ok else f"发现 {len(r.breaks)} 处问题"
        click.echo(
            f"{name}（{r.tenant_id}）：{r.rows} 条，链头第 {r.head_seq} 条 {r.head_hash[:12]}，{state}"
        )
        for b in r.breaks:
            click.echo(f"  [{b.kind}] {audit.KIND_ZH[b.kind]}：{b.message}")
    broken = sum(len(r.breaks) for r in reports)
    if broken:
        click.echo(f"审计日志校验未通过：共 {broken} 处问题。", err=True)
        sys.exit(1)
    click.echo("审计日志校验通过。")


@audit_group.command("export-head")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append to this file (default: XINFANG_AUDIT_HEADS_FILE or <data dir>/audit/heads.jsonl).",
)
def audit_export_head(out: Path | None) -> None:
    """Append the current head of every chain (one JSON line each) and log it."""
    from core.services import audit

    settings = load_settings()
    setup_logging(settings)
    path = out or settings.audit_heads_path
    lines = run_async(lambda: with_db(settings, lambda rt: audit.export_heads(rt, path)))
    click.echo(f"已导出 {len(lines)} 条链头到 {path}")


@audit_group.command("show")
@click.option("--tenant", "slug", required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def audit_show(slug: str, limit: int) -> None:
    """The newest entries of a tenant's audit log (Asia/Shanghai time)."""
    from core.services import audit
    from core.settings import TIMEZONE

    async def go(rt: Any) -> list[dict[str, Any]]:
        return await audit.recent(await system_scope(rt, slug), limit)

    for r in run_async(lambda: with_db(load_settings(), go)):
        at = r["at"].astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{r['seq']:>6} {at} {r['actor']:<16} {r['action']:<28} {r['target']} {r['detail']}"
        )


commands = (audit_group,)
