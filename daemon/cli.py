"""The daemon's commands, ``xinfang worker`` and ``xinfang tick``, and the worker half of
``xinfang run``. Registered on core's ``main`` through the ``xinfang.cli`` entry point
group (core does not import the daemon)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import click

from core.console import run_async, setup_logging, with_db
from core.settings import load_settings


@click.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit.")
@click.option("--check", is_flag=True, help="Exit 0 if a worker beat in the last 5 minutes.")
def worker(burst: bool, check: bool) -> None:
    """Run the background worker (arq): rota, reminders, escalation, outbox."""
    from core.clock import clock_from_env
    from core.redis import EmbeddedRedis
    from core.runtime import Runtime
    from daemon.worker import build_worker

    settings = load_settings()
    setup_logging(settings)
    rt = Runtime.build(settings, clock=clock_from_env())
    embedded = EmbeddedRedis(settings.data_dir) if settings.embedded_redis else None
    if embedded is not None:
        rt.redis_socket = embedded.start()
    try:
        if check:
            sys.exit(asyncio.run(_check_heartbeat(rt)))
        build_worker(rt, own_resources=True, burst=burst).run()
    finally:
        if embedded is not None:
            embedded.stop()


@click.command()
@click.option("--tenant", "slugs", multiple=True, help="Only these tenants (slug); default all.")
@click.option("--deliver-only", is_flag=True, help="Only deliver pending notifications.")
def tick(slugs: tuple[str, ...], deliver_only: bool) -> None:
    """Run one deadline tick now (reminders, escalation, digests) and deliver the outbox."""
    from core.services import tenants as tenant_svc
    from daemon.notify.jobs import run_deliver, run_tick

    settings = load_settings()
    setup_logging(settings)

    async def go(rt: Any) -> dict[str, Any]:
        from core.clock import clock_from_env

        rt.clock = clock_from_env()
        ids = [(await tenant_svc.get_tenant_by_slug(rt, s)).id for s in slugs] or None
        if deliver_only:
            return await run_deliver(rt, tenants=ids)
        return await run_tick(rt, tenants=ids)

    result = run_async(lambda: with_db(settings, go))
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))


async def _check_heartbeat(rt: Any) -> int:
    from arq import create_pool

    from core.redis import HEARTBEAT_KEY, arq_settings

    redis = await create_pool(arq_settings(rt.settings, rt.redis_socket))
    try:
        beat = await redis.get(HEARTBEAT_KEY)
    finally:
        await redis.aclose()
    from core.timefmt import zh_datetime

    # The stamp is ISO with an offset; shown in Shanghai time whatever this host's TZ.
    click.echo(f"最近心跳：{zh_datetime(beat.decode(), seconds=True) if beat else '无'}")
    return 0 if beat else 1


@asynccontextmanager
async def worker_alongside(rt: Any) -> AsyncIterator[None]:
    """The worker running as a task in this process, on ``rt``'s open resources, while
    the block runs (``xinfang run``: web and worker in one process)."""
    from daemon.worker import build_worker

    worker = build_worker(rt, own_resources=False)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        yield
    finally:
        worker_task.cancel()
        await worker.close()


commands = (
    worker,
    tick,
)
