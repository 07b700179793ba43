"""The arq worker: ``xinfang worker`` runs it alone, ``xinfang run`` beside the web app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from arq.constants import default_queue_name
from arq.worker import Worker

from core.bootstrap import open_resources
from core.runtime import Runtime
from core.settings import TIMEZONE
from daemon.registry import CRON_JOBS, FUNCTIONS


def build_worker(
    rt: Runtime, *, own_resources: bool, burst: bool = False, queue_name: str | None = None
) -> Worker:
    """A worker over ``rt``. With ``own_resources`` it opens the database and Redis itself.
    ``queue_name``: another arq queue than the default (several apps on one Redis)."""
    stack = AsyncExitStack()

    async def on_startup(ctx: dict[str, Any]) -> None:
        if own_resources:
            await stack.enter_async_context(
                open_resources(rt, web=False, redis_socket=rt.redis_socket)
            )
        ctx["rt"] = rt

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await stack.aclose()

    from core.redis import arq_settings

    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS,
        redis_settings=arq_settings(rt.settings, rt.redis_socket),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        timezone=TIMEZONE,  # type: ignore[arg-type]  # arq accepts any tzinfo
        burst=burst,
        queue_name=queue_name or default_queue_name,
        handle_signals=False,
        max_jobs=10,
        keep_result=3600,
    )
