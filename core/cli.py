"""The ``xinfang`` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from core.errors import DomainError
from core.settings import Settings, load_settings

T = TypeVar("T")


def _run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    except DomainError as exc:
        where = f"（{exc.field}）" if exc.field else ""
        raise click.ClickException(f"{exc.message}{where} [{exc.code}]") from None


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


async def _with_db(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(rt)`` with the database bound (no Redis needed)."""
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime

    rt = Runtime.build(settings)
    engine = make_engine(settings.database)
    bind_engine(engine)
    await open_engine(engine)
    try:
        return await fn(rt)
    finally:
        await close_engine(engine)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xinfang")
def main() -> None:
    """信访接待平台 Xinfang — petition reception for Chinese organizations.

    With no settings it runs on the embedded default (SQLite file and embedded Redis
    under XINFANG_DATA_DIR, default ./var). Set DATABASE_URL / REDIS_URL for servers.
    """


@main.command()
def migrate() -> None:
    """Apply database migrations (uses DATABASE_ADMIN_URL on PostgreSQL), create the
    application role with its grants and row-level security, seed the work calendar."""
    from core.bootstrap import migrate as do_migrate

    settings = load_settings()
    for line in asyncio.run(do_migrate(settings)):
        click.echo(line)


@main.command()
def init() -> None:
    """Create the data directory and secret key (embedded default) and migrate."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"数据目录：{settings.data_dir}")
    from core.bootstrap import migrate as do_migrate

    for line in asyncio.run(do_migrate(settings)):
        click.echo(line)


@main.command()
@click.option("--if-empty", is_flag=True, help="Only load when no tenant exists yet.")
def demo(if_empty: bool) -> None:
    """Load demo data: four tenants with departments, staff and cases; print the logins."""
    from core.demo import load_demo

    settings = load_settings()
    report = _run(lambda: _with_db(settings, lambda rt: load_demo(rt, if_empty=if_empty)))
    click.echo(report)


@main.command()
@click.option("--tenant", required=True, help="Tenant slug, e.g. north-heating.")
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="Display name (姓名).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "clerk", "leader", "handler", "supervisor"]),
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def createuser(
    tenant: str, username: str, display_name: str, roles: tuple[str, ...], password: str
) -> None:
    """Create a staff account in a tenant."""
    from core.services import tenants, users

    async def go(rt: Any) -> dict[str, Any]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        return await users.create_user(
            rt,
            t.id,
            username=username,
            display_name=display_name or username,
            password=password,
            roles=list(roles),
        )

    user = _run(lambda: _with_db(load_settings(), go))
    click.echo(f"已创建用户 {user['username']}（id {user['id']}）")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", required=True)
@click.option("--username", required=True)
@click.option("--name", default="cli", help="What the token is for.")
@click.option("--days", default=90, show_default=True, help="Days until it expires.")
def token_create(tenant: str, username: str, name: str, days: int) -> None:
    """Create an API token for a user and print it once."""
    from core.db.engine import tenant_tx
    from core.db.tables import StaffUser
    from core.errors import NotFound
    from core.services import tenants, users

    async def go(rt: Any) -> str:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        async with tenant_tx(t.id, write=False):
            row = (
                await StaffUser.select(StaffUser.id)
                .where((StaffUser.tenant_id == t.id) & (StaffUser.username == username))
                .first()
            )
        if row is None:
            raise NotFound("user_not_found", f"用户 {username} 不存在。", field="username")
        tok, _ = await users.create_token(rt, t.slug, t.id, row["id"], name=name, ttl_days=days)
        return tok

    click.echo(_run(lambda: _with_db(load_settings(), go)))


@main.group()
def tenant() -> None:
    """Tenants (organizations)."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--rule-pack", default="cn-2022", show_default=True)
@click.option("--plugin", "plugins", multiple=True, help="Sector plugin to enable.")
def tenant_create(slug: str, name: str, rule_pack: str, plugins: tuple[str, ...]) -> None:
    """Create a tenant."""
    from core.services import tenants

    info = _run(
        lambda: _with_db(
            load_settings(),
            lambda rt: tenants.create_tenant(
                rt, slug=slug, name=name, rule_pack=rule_pack, plugins=list(plugins)
            ),
        )
    )
    click.echo(f"已创建机构 {info.slug}（id {info.id}）")


@tenant.command("list")
def tenant_list() -> None:
    """List tenants."""
    from core.services import tenants

    for row in _run(lambda: _with_db(load_settings(), tenants.list_tenants)):
        click.echo(f"{row['slug']:<20} {row['name']}  [{row['rule_pack']}]")


@main.command()
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

    settings = load_settings()
    _logging(settings)
    count = workers or int(os.environ.get("XINFANG_WEB_CONCURRENCY", "1"))
    uvicorn.run(
        "core.web.asgi:app",
        host=host,
        port=port,
        workers=count,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@main.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit.")
@click.option("--check", is_flag=True, help="Exit 0 if a worker beat in the last 5 minutes.")
def worker(burst: bool, check: bool) -> None:
    """Run the background worker (arq): rota, reminders, escalation, outbox."""
    from core.redis import EmbeddedRedis
    from core.runtime import Runtime
    from daemon.worker import build_worker

    settings = load_settings()
    _logging(settings)
    rt = Runtime.build(settings)
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


async def _check_heartbeat(rt: Any) -> int:
    from arq import create_pool

    from core.redis import arq_settings
    from daemon.registry import HEARTBEAT_KEY

    redis = await create_pool(arq_settings(rt.settings, rt.redis_socket))
    try:
        beat = await redis.get(HEARTBEAT_KEY)
    finally:
        await redis.aclose()
    click.echo(f"last heartbeat: {beat.decode() if beat else 'none'}")
    return 0 if beat else 1


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Web and worker together in one process — the embedded default (`make run`)."""
    settings = load_settings()
    _logging(settings)
    asyncio.run(_run_all(settings, host, port))


async def _run_all(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from core.bootstrap import open_resources
    from core.runtime import Runtime
    from core.web.app import create_app
    from daemon.worker import build_worker

    rt = Runtime.build(settings)
    async with open_resources(rt, web=True):
        app = create_app(rt, manage_resources=False)
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level=settings.log_level.lower())
        )
        worker = build_worker(rt, own_resources=False)
        click.echo(f"信访接待平台已启动：http://{host}:{port}  （按 Ctrl+C 停止）")
        worker_task = asyncio.create_task(worker.async_run())
        try:
            await server.serve()
        finally:
            worker_task.cancel()
            await worker.close()


if __name__ == "__main__":  # pragma: no cover
    main()
