"""Statutory deadlines."""

from __future__ import annotations

from typing import Any

import click

from core.cli.calendar import load_calendar
from core.console import run_async
from core.settings import load_settings


@click.group()
def deadline() -> None:
    """Statutory deadlines (期限)."""


@deadline.command("explain")
@click.option("--pack", default="cn-2022", show_default=True, help="Rule pack, e.g. zhejiang.")
@click.option("--clock", required=True, help="accept, notify, objection, handle, extension, …")
@click.option("--start", required=True, help="Start day YYYY-MM-DD (not counted).")
@click.option("--paused", multiple=True, help="Paused period YYYY-MM-DD:YYYY-MM-DD (repeatable).")
@click.option("--days", type=int, default=None, help="Override the number of days.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def deadline_explain(
    pack: str, clock: str, start: str, paused: tuple[str, ...], days: int | None, as_json: bool
) -> None:
    """Print the due date of a clock and each step of the counting."""
    import json
    from datetime import date

    from core.domain.deadlines import compute_deadline, parse_pause
    from core.errors import InvalidInput
    from core.rulepacks import load_pack

    async def go() -> Any:
        try:
            start_day = date.fromisoformat(start)
        except ValueError:
            raise InvalidInput("invalid_date", "起算日应为 YYYY-MM-DD。", field="start") from None
        pauses = [parse_pause(p) for p in paused]
        settings = load_settings()
        rule_pack = load_pack(pack, extra_dirs=settings.rulepack_dirs)
        return compute_deadline(
            rule_pack, clock, start_day, await load_calendar(settings), pauses, days
        )

    result = run_async(go)
    if as_json:
        d = result.as_dict()
        keys = ("due", "provisional", "pack", "version", "steps")
        click.echo(json.dumps({k: d[k] for k in keys}, ensure_ascii=False))
        return
    for i, step in enumerate(result.steps, 1):
        click.echo(f"{i}. {step}")
    note = "（临时：日历未导入）" if result.provisional else ""
    click.echo(f"届满日：{result.due.isoformat()}{note}")


commands = (deadline,)
