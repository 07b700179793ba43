"""``xinfang run``: web and worker together in one process — the embedded default."""

from __future__ import annotations

import asyncio

import click

from core.console import setup_logging
from core.settings import Settings, load_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Web and worker together in one process — the embedded default (`make run`)."""
    settings = load_settings()
    setup_logging(settings)
    asyncio.run(_run_all(settings, host, port))


async def _run_all(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from core import logs
    from core.bootstrap import open_resources
    from core.runtime import Runtime
    from core.web.app import create_app
    from daemon.cli import worker_alongside

    rt = Runtime.build(settings)
    async with open_resources(rt, web=True):
        app = create_app(rt, manage_resources=False)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level=settings.log_level.lower(),
                log_config=logs.config(settings.log_level),
            )
        )
        async with worker_alongside(rt):
            click.echo(f"信访接待平台已启动：http://{host}:{port}  （按 Ctrl+C 停止）")
            await server.serve()


commands = (run,)
