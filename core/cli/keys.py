"""Secret-key rotation."""

from __future__ import annotations

import sys
from typing import Any

import click

from core.console import run_async, with_db
from core.settings import load_settings


@click.group("keys")
def keys_group() -> None:
    """Secret-key rotation (docs/security.md, "Keys"): re-encrypt personal data under
    XINFANG_SECRET_KEY while XINFANG_PREVIOUS_SECRET_KEYS still opens the old data."""


def _keys_report(report: Any, attr: str, label: str) -> int:
    """Per-table counts (never a value); the exit status is 1 if a token is unreadable."""
    for name, c in report.tables.items():
        click.echo(
            f"{name:<17} 已检查 {c.scanned:>7}  {label} {getattr(c, attr):>7}"
            f"  无法解密 {c.unreadable:>5}"
        )
    bad = report.total("unreadable")
    if bad:
        click.echo(
            f"有 {bad} 行数据用当前密钥和旧密钥都无法解密（未改动）：请确认"
            " XINFANG_PREVIOUS_SECRET_KEYS 包含原来的密钥。",
            err=True,
        )
    return 1 if bad else 0


@keys_group.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(min=1))
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: all).")
@click.option("--max-batches", type=click.IntRange(min=1), help="Stop after N batches.")
def keys_rotate(batch: int, slug: str | None, max_batches: int | None) -> None:
    """Re-encrypt every encrypted field and rewrite every blind index under the current
    key, BATCH rows per short transaction, while the application keeps running.
    Idempotent: after an interruption, run it again to finish."""
    from core.services import keys

    report = run_async(
        lambda: with_db(
            load_settings(),
            lambda rt: keys.rotate(rt, tenant=slug, batch=batch, max_batches=max_batches),
        )
    )
    code = _keys_report(report, "rewritten", "已重新加密")
    scanned, rewritten = report.total("scanned"), report.total("rewritten")
    click.echo(f"机构 {report.tenants} 个；已检查 {scanned} 行，重新加密 {rewritten} 行。")
    if not report.complete:
        click.echo("已按 --max-batches 暂停；再次运行 xinfang keys rotate 继续。")
    sys.exit(code)


@keys_group.command("status")
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: all).")
def keys_status(slug: str | None) -> None:
    """Count rows still under a previous key. Exit status 0 only when none is left (and
    none is unreadable): then the old key can leave XINFANG_PREVIOUS_SECRET_KEYS."""
    from core.services import keys

    settings = load_settings()
    report = run_async(lambda: with_db(settings, lambda rt: keys.status(rt, tenant=slug)))
    code = _keys_report(report, "stale", "仍用旧密钥")
    left = report.total("stale")
    click.echo(f"机构 {report.tenants} 个；仍用旧密钥 {left} 行。")
    if left:
        click.echo("请运行 xinfang keys rotate；在此之前不能删除旧密钥。")
    elif not code and settings.previous_secret_keys:
        click.echo("全部数据已改用当前密钥：可以从 XINFANG_PREVIOUS_SECRET_KEYS 删除旧密钥。")
    sys.exit(1 if left or code else 0)


commands = (keys_group,)
