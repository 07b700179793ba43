"""The web server."""

from __future__ import annotations

import click

from core.console import setup_logging
from core.settings import load_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="Web processes (default XINFANG_WEB_CONCURRENCY or 1).",
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the web app and API (uvicorn). Stateless: run more for more load."""
    import os

    import uvicorn

    from core import logs

    settings = load_settings()
    setup_logging(settings)
    count = workers or int(os.environ.get("XINFANG_WEB_CONCURRENCY", "1"))
    uvicorn.run(
        "core.web.asgi:app",
        host=host,
        port=port,
        workers=count,
        log_level=settings.log_level.lower(),
        log_config=logs.config(settings.log_level),
        proxy_headers=True,
    )


commands = (serve,)
