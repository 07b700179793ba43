"""The official working-day calendar."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import click

from core.console import refusal, run_async, with_db
from core.errors import DomainError
from core.settings import Settings, load_settings


async def load_calendar(settings: Settings) -> Any:
    """The database's calendar (with imported years); the bundled one when there is no
    database yet, so explaining works before `xinfang init`."""
    from core.domain.workcalendar import WorkCalendar

    sqlite_file = Path(settings.database.sqlite_path) if settings.database.is_sqlite else None
    if sqlite_file is not None and not await asyncio.to_thread(sqlite_file.exists):
        return WorkCalendar.from_chinese_calendar()

    async def load(rt: Any) -> Any:
        from core.services.deadlines import work_calendar

        return await work_calendar()

    return await with_db(settings, load)


@click.group()
def calendar() -> None:
    """The official working-day calendar (holidays and 调休 make-up working days)."""


@calendar.command("show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """Show a year's holidays and make-up working days."""
    from core.services.calendar import calendar_year

    settings = load_settings()
    info = calendar_year(run_async(lambda: load_calendar(settings)), year)
    state = "临时（未导入官方日历，按周末休息、无节假日计算）" if info.provisional else "官方"
    click.echo(f"{year} 年工作日历：{state}")
    for d in info.holidays:
        click.echo(f"  放假 {d.date} {d.name}")
    for d in info.makeup_workdays:
        click.echo(f"  调休上班 {d.date} {d.name}")


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="File format (default: from the file extension). See docs/calendar.md.",
)
def calendar_import(file: str, fmt: str | None) -> None:
    """Import a year's official calendar (State Council notice) from CSV or JSON;
    recompute every provisional deadline and rota slot in that year."""
    from core.domain.workcalendar import parse_calendar_import

    path = Path(file)
    kind: Literal["csv", "json"] = (
        "json" if (fmt or path.suffix.lower().lstrip(".")) == "json" else "csv"
    )
    try:  # the parser decodes (strict UTF-8) and checks the whole file first
        year, entries = parse_calendar_import(path.read_bytes(), kind)
    except DomainError as exc:
        raise refusal(exc) from None

    async def go(rt: Any) -> tuple[int, int, int, int]:
        from core.services.calendar_admin import apply_import

        recounted, slots = await apply_import(rt, year, entries, source=f"import:{path.name}")
        return year, len(entries), recounted, slots

    _, n, recounted, slots = run_async(lambda: with_db(load_settings(), go))
    click.echo(
        f"已导入 {year} 年工作日历（{n} 条）；重新计算期限 {recounted} 个，重新核定排班 {slots} 个。"
    )


commands = (calendar,)
