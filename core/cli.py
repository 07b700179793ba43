"""The ``xinfang`` command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from core.errors import DomainError
from core.settings import Settings, load_settings

T = TypeVar("T")


def _refusal(exc: DomainError) -> click.ClickException:
    where = f"（{exc.field}）" if exc.field else ""
    return click.ClickException(f"{exc.message}{where} [{exc.code}]")


def _run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    except DomainError as exc:
        raise _refusal(exc) from None


def _logging(settings: Settings) -> None:
    from core import logs

    logs.configure(settings.log_level)


async def _with_db(
    settings: Settings, fn: Callable[[Any], Awaitable[T]], *, redis: bool = False
) -> T:
    """Run ``fn(rt)`` with the database bound (and Redis, the embedded one if so set),
    its writes audited as the command line's."""
    from core.runtime import Runtime
    from core.services import audit

    if redis:
        from core.bootstrap import open_resources

        async with open_resources(Runtime.build(settings), web=False) as rt:
            with audit.acting(audit.CLI):
                return await fn(rt)
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine

    rt = Runtime.build(settings)
    engine = make_engine(settings.database)
    bind_engine(engine)
    await open_engine(engine)
    try:
        with audit.acting(audit.CLI):
            return await fn(rt)
    finally:
        await close_engine(engine)


async def _with_owner_db(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(rt)`` on the owner connection (DATABASE_ADMIN_URL on PostgreSQL)."""
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime

    rt = Runtime.build(settings)
    engine = make_engine(settings.database, admin=True)
    bind_engine(engine)
    await open_engine(engine, pool_size=2)
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
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug); default all.")
def backup(file: Path, slug: str | None) -> None:
    """Write a backup of every tenant (or one) to FILE, as the owner (DATABASE_ADMIN_URL).

    A gzip file of JSON lines; personal data stays encrypted, so keep the secret key
    apart from it. See deploy/README.md, "Backup and restore"."""
    from core.services import backup as svc

    res = _run(
        lambda: _with_owner_db(load_settings(), lambda rt: svc.backup(rt, file, tenant_slug=slug))
    )
    what = f"机构 {slug}" if slug else f"{len(res.tenants)} 个机构"
    click.echo(f"已备份 {what}：{len(res.rows)} 张表，{res.total} 行 → {res.path}")


@main.command()
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

    res = _run(
        lambda: _with_owner_db(
            load_settings(),
            lambda rt: svc.restore(rt, file, tenant_slug=slug, allow_other_key=allow_other_key),
        )
    )
    click.echo(f"已恢复 {'、'.join(res.tenants) or '（无机构）'}：{res.total} 行")


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
def user() -> None:
    """Staff accounts: unlock after failed logins, deactivate (sessions end, tokens and
    feeds stop) and reactivate."""


@user.command("unlock")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("username")
def user_unlock(tenant: str, username: str) -> None:
    """Lift the lock on USERNAME after too many failed logins (clears the failure count)."""
    from core.services import tenants, users

    async def go(rt: Any) -> dict[str, Any]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        user_id = await users.user_id_of(rt, t.id, username)
        return await users.unlock_login(rt, t.slug, t.id, user_id)

    res = _run(lambda: _with_db(load_settings(), go, redis=True))
    state = "已解除锁定" if res["was_locked"] else "未被锁定；已清除失败计数"
    click.echo(f"{tenant}: {username} {state}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", required=True)
@click.option("--username", required=True)
@click.option("--name", default="cli", help="What the token is for.")
@click.option(
    "--days", type=int, default=None, help="Days until it expires (default: the tenant's maximum)."
)
def token_create(tenant: str, username: str, name: str, days: int | None) -> None:
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


@token.command("list")
@click.option("--tenant", required=True)
def token_list(tenant: str) -> None:
    """List the tenant's API tokens (id, user, name, prefix, expiry, state), never a secret."""
    from core.services import tenants, users

    async def go(rt: Any) -> list[dict[str, Any]]:
        return await users.list_tokens(rt, (await tenants.get_tenant_by_slug(rt, tenant)).id)

    for r in _run(lambda: _with_db(load_settings(), go)):
        state = "已吊销" if r["revoked_at"] else "有效"
        expires = r["expires_at"].date().isoformat() if r["expires_at"] else "-"
        click.echo(
            f"{r['id']:>6} {r['username']:<16} {r['name']:<16} {r['prefix']}… {expires} {state}"
        )


@token.command("revoke")
@click.option("--tenant", required=True)
@click.argument("token_id", type=int)
def token_revoke(tenant: str, token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `token list`); it stops working at once."""
    from core.services import tenants, users

    async def go(rt: Any) -> dict[str, Any]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        return await users.revoke_token(rt, t.id, token_id)

    _run(lambda: _with_db(load_settings(), go))
    click.echo(f"已吊销令牌 {token_id}")


def _set_active(tenant: str, username: str, active: bool) -> None:
    from core.services import tenants, users

    async def go(rt: Any) -> dict[str, Any]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        user_id = await users.user_id_of(rt, t.id, username)
        return await users.set_active(rt, t.id, user_id, active)

    # Redis too: deactivation deletes the user's server-side sessions.
    _run(lambda: _with_db(load_settings(), go, redis=True))
    click.echo(f"已{'启用' if active else '停用'}用户 {username}")


@user.command("deactivate")
@click.option("--tenant", required=True)
@click.argument("username")
def user_deactivate(tenant: str, username: str) -> None:
    """Deactivate USERNAME: logged out everywhere, API tokens and iCal feed refused."""
    _set_active(tenant, username, False)


@user.command("activate")
@click.option("--tenant", required=True)
@click.argument("username")
def user_activate(tenant: str, username: str) -> None:
    """Reactivate USERNAME (tokens and feed resume; the user logs in again)."""
    _set_active(tenant, username, True)


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


@main.group()
def plugin() -> None:
    """Sector plugins per tenant: list, enable, disable, configure."""


@plugin.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
def plugin_list(tenant: str) -> None:
    """List installed plugins and whether the tenant enabled them."""
    from core.services import plugin_admin, tenants

    async def go(rt: Any) -> list[dict[str, Any]]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        return await plugin_admin.list_plugins(rt, t.id)

    for row in _run(lambda: _with_db(load_settings(), go)):
        state = "启用" if row["enabled"] else "未启用"
        click.echo(f"{row['name']:<24} {state:<4} {row['title_zh']}  {row['version']}")


def _plugin_set(tenant: str, name: str, enabled: bool | None, config: Any = None) -> None:
    import json

    from core.services import plugin_admin, tenants

    async def go(rt: Any) -> dict[str, Any]:
        t = await tenants.get_tenant_by_slug(rt, tenant)
        return await plugin_admin.configure(rt, t.id, name, enabled=enabled, config=config)

    row = _run(lambda: _with_db(load_settings(), go))
    state = "启用" if row["enabled"] else "未启用"
    click.echo(f"{tenant}: {name} {state}；设置 {json.dumps(row['config'], ensure_ascii=False)}")


@plugin.command("enable")
@click.option("--tenant", required=True)
@click.argument("name")
def plugin_enable(tenant: str, name: str) -> None:
    """Enable plugin NAME for the tenant."""
    _plugin_set(tenant, name, True)


@plugin.command("disable")
@click.option("--tenant", required=True)
@click.argument("name")
def plugin_disable(tenant: str, name: str) -> None:
    """Disable plugin NAME for the tenant (its data stays)."""
    _plugin_set(tenant, name, False)


@plugin.command("config")
@click.option("--tenant", required=True)
@click.argument("name")
@click.argument("settings_json")
def plugin_config(tenant: str, name: str, settings_json: str) -> None:
    """Replace the tenant's settings of plugin NAME with SETTINGS_JSON (a JSON object)."""
    import json

    try:
        config = json.loads(settings_json)
    except ValueError as exc:
        raise click.ClickException(f"设置不是合法的 JSON：{exc}") from None
    _plugin_set(tenant, name, None, config)


@main.group("open311-key")
def open311_key() -> None:
    """Open311 GeoReport v2 API keys."""


@open311_key.command("create")
@click.option("--tenant", required=True)
def open311_key_create(tenant: str) -> None:
    """Issue (or rotate) the tenant's Open311 API key and print it once."""
    from core.services import open311

    key = _run(lambda: _with_db(load_settings(), lambda rt: open311.create_key(rt, tenant)))
    click.echo(key)


@main.group("keys")
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

    report = _run(
        lambda: _with_db(
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
    report = _run(lambda: _with_db(settings, lambda rt: keys.status(rt, tenant=slug)))
    code = _keys_report(report, "stale", "仍用旧密钥")
    left = report.total("stale")
    click.echo(f"机构 {report.tenants} 个；仍用旧密钥 {left} 行。")
    if left:
        click.echo("请运行 xinfang keys rotate；在此之前不能删除旧密钥。")
    elif not code and settings.previous_secret_keys:
        click.echo("全部数据已改用当前密钥：可以从 XINFANG_PREVIOUS_SECRET_KEYS 删除旧密钥。")
    sys.exit(1 if left or code else 0)


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

    from core import logs

    settings = load_settings()
    _logging(settings)
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


@main.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit.")
@click.option("--check", is_flag=True, help="Exit 0 if a worker beat in the last 5 minutes.")
def worker(burst: bool, check: bool) -> None:
    """Run the background worker (arq): rota, reminders, escalation, outbox."""
    from core.clock import clock_from_env
    from core.redis import EmbeddedRedis
    from core.runtime import Runtime
    from daemon.worker import build_worker

    settings = load_settings()
    _logging(settings)
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


@main.command()
@click.option("--tenant", "slugs", multiple=True, help="Only these tenants (slug); default all.")
@click.option("--deliver-only", is_flag=True, help="Only deliver pending notifications.")
def tick(slugs: tuple[str, ...], deliver_only: bool) -> None:
    """Run one deadline tick now (reminders, escalation, digests) and deliver the outbox."""
    from core.services import tenants as tenant_svc
    from daemon.notify.jobs import run_deliver, run_tick

    settings = load_settings()
    _logging(settings)

    async def go(rt: Any) -> dict[str, Any]:
        from core.clock import clock_from_env

        rt.clock = clock_from_env()
        ids = [(await tenant_svc.get_tenant_by_slug(rt, s)).id for s in slugs] or None
        if deliver_only:
            return await run_deliver(rt, tenants=ids)
        return await run_tick(rt, tenants=ids)

    result = _run(lambda: _with_db(settings, go))
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

    from core import logs
    from core.bootstrap import open_resources
    from core.runtime import Runtime
    from core.web.app import create_app
    from daemon.worker import build_worker

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
        worker = build_worker(rt, own_resources=False)
        click.echo(f"信访接待平台已启动：http://{host}:{port}  （按 Ctrl+C 停止）")
        worker_task = asyncio.create_task(worker.async_run())
        try:
            await server.serve()
        finally:
            worker_task.cancel()
            await worker.close()


@main.group()
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
            rule_pack, clock, start_day, await _calendar(settings), pauses, days
        )

    result = _run(go)
    if as_json:
        d = result.as_dict()
        keys = ("due", "provisional", "pack", "version", "steps")
        click.echo(json.dumps({k: d[k] for k in keys}, ensure_ascii=False))
        return
    for i, step in enumerate(result.steps, 1):
        click.echo(f"{i}. {step}")
    note = "（临时：日历未导入）" if result.provisional else ""
    click.echo(f"届满日：{result.due.isoformat()}{note}")


async def _calendar(settings: Settings) -> Any:
    """The database's calendar (with imported years); the bundled one when there is no
    database yet, so explaining works before `xinfang init`."""
    from core.domain.workcalendar import WorkCalendar

    sqlite_file = Path(settings.database.sqlite_path) if settings.database.is_sqlite else None
    if sqlite_file is not None and not await asyncio.to_thread(sqlite_file.exists):
        return WorkCalendar.from_chinese_calendar()

    async def load(rt: Any) -> Any:
        from core.services.deadlines import work_calendar

        return await work_calendar()

    return await _with_db(settings, load)


@main.group()
def calendar() -> None:
    """The official working-day calendar (holidays and 调休 make-up working days)."""


@calendar.command("show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """Show a year's holidays and make-up working days."""
    from core.services.calendar import calendar_year

    settings = load_settings()
    info = calendar_year(_run(lambda: _calendar(settings)), year)
    state = "临时（未导入官方日历，按周末休息、无节假日计算）" if info["provisional"] else "官方"
    click.echo(f"{year} 年工作日历：{state}")
    for d in info["holidays"]:
        click.echo(f"  放假 {d['date']} {d['name']}")
    for d in info["makeup_workdays"]:
        click.echo(f"  调休上班 {d['date']} {d['name']}")


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
    kind = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    try:  # the parser decodes (strict UTF-8) and checks the whole file first
        year, entries = parse_calendar_import(path.read_bytes(), kind)  # type: ignore[arg-type]
    except DomainError as exc:
        raise _refusal(exc) from None

    async def go(rt: Any) -> tuple[int, int, int, int]:
        from core.services import calendar as cal_service
        from core.services import deadlines, rota

        await cal_service.import_year(year, entries, source=f"import:{path.name}")
        recounted = await deadlines.recompute_provisional(rt, year, now=rt.clock.now())
        slots = await rota.reevaluate_provisional(rt, year)
        return year, len(entries), recounted, slots

    _, n, recounted, slots = _run(lambda: _with_db(load_settings(), go))
    click.echo(
        f"已导入 {year} 年工作日历（{n} 条）；重新计算期限 {recounted} 个，重新核定排班 {slots} 个。"
    )


@main.group("rota")
def rota_group() -> None:
    """Leader reception rota: generate and publish slots (the worker generates hourly)."""


@rota_group.command("generate")
@click.option("--tenant", "slug", default=None, help="Only this tenant (default: all).")
def rota_generate(slug: str | None) -> None:
    """Create the missing draft slots up to each template's horizon (idempotent)."""
    from core.services import rota, tenants

    async def go(rt: Any) -> dict[str, int]:
        if slug is None:
            return await rota.generate_all(rt)
        return await rota.generate(rt, (await tenants.get_tenant_by_slug(rt, slug)).id)

    res = _run(lambda: _with_db(load_settings(), go))
    click.echo(f"新建排班时段 {res['created']} 个，无人可排 {res['unfilled']} 个")


@rota_group.command("publish")
@click.option("--tenant", "slug", required=True)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--as", "username", default="admin", show_default=True, help="Acting admin user.")
def rota_publish(slug: str, until: Any, username: str) -> None:
    """Publish the tenant's draft slots from today (up to --until)."""
    from core.db.engine import tenant_tx
    from core.db.tables import StaffUser
    from core.principal import Principal
    from core.services import rota, tenants

    async def go(rt: Any) -> dict[str, Any]:
        tenant = await tenants.get_tenant_by_slug(rt, slug)
        async with tenant_tx(tenant.id, write=False):
            user = (
                await StaffUser.select(StaffUser.id, StaffUser.display_name, StaffUser.roles)
                .where((StaffUser.tenant_id == tenant.id) & (StaffUser.username == username))
                .output(load_json=True)
                .first()
            )
        if user is None or not {"admin", "supervisor"} & set(user["roles"] or []):
            raise click.ClickException(f"用户 {username} 不存在或不是管理员/督查督办")
        actor = Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            user_id=user["id"],
            username=username,
            display_name=user["display_name"],
            roles=frozenset(user["roles"]),
        )
        return await rota.publish(rt, actor, rota.PublishIn(until=until.date() if until else None))

    res = _run(lambda: _with_db(load_settings(), go))
    click.echo(f"已发布排班时段 {res['published']} 个")


@main.group("audit")
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
        tid = (await tenants.get_tenant_by_slug(rt, slug)).id if slug else None
        return await audit.verify(rt, tid, exported), names

    reports, names = _run(lambda: _with_db(load_settings(), go))
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
    _logging(settings)
    path = out or settings.audit_heads_path
    lines = _run(lambda: _with_db(settings, lambda rt: audit.export_heads(rt, path)))
    click.echo(f"已导出 {len(lines)} 条链头到 {path}")


@audit_group.command("show")
@click.option("--tenant", "slug", required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def audit_show(slug: str, limit: int) -> None:
    """The newest entries of a tenant's audit log (Asia/Shanghai time)."""
    from core.services import audit, tenants
    from core.settings import TIMEZONE

    async def go(rt: Any) -> list[dict[str, Any]]:
        return await audit.recent((await tenants.get_tenant_by_slug(rt, slug)).id, limit)

    for r in _run(lambda: _with_db(load_settings(), go)):
        at = r["at"].astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{r['seq']:>6} {at} {r['actor']:<16} {r['action']:<28} {r['target']} {r['detail']}"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
