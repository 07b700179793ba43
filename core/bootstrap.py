"""Start-up and shutdown of the shared resources; database migration."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from piccolo.engine.postgres import PostgresEngine

from core.db.engine import bind_engine, close_engine, make_engine, open_engine
from core.redis import EmbeddedRedis, arq_settings
from core.runtime import Runtime
from core.settings import Settings, pg_config_from_url

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_resources(
    rt: Runtime, *, web: bool = True, redis_socket: str | None = None
) -> AsyncIterator[Runtime]:
    """Bind the database engine and connect Redis (starting the embedded one if needed)."""
    engine = make_engine(rt.settings.database)
    bind_engine(engine)
    await open_engine(engine, pool_size=rt.settings.database.pool_size)
    embedded: EmbeddedRedis | None = None
    if rt.settings.embedded_redis and redis_socket is None:
        embedded = EmbeddedRedis(rt.settings.data_dir)
        redis_socket = embedded.start()
    rt.redis_socket = redis_socket
    rt.redis = await create_pool(arq_settings(rt.settings, redis_socket))
    try:
        yield rt
    finally:
        await rt.redis.aclose()
        rt.redis = None
        await close_engine(engine)
        if embedded is not None:
            embedded.stop()


async def migrate(settings: Settings, *, quiet: bool = True) -> list[str]:
    """Apply every pending migration with the owner connection, then make sure the app
    role exists with exactly the rights it needs. Returns what was done."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    done: list[str] = []
    if settings.database.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database, admin=True)
    bind_engine(engine)
    # Piccolo prints per-app progress banners; the caller reports what was done instead.
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards("all")
    if not result.success:
        raise SystemExit(f"数据库迁移失败：{result.message}\n{out.getvalue()}")
    done.append("migrations applied")
    if isinstance(engine, PostgresEngine):
        done += await ensure_app_role(engine, settings)
    from core.security import Keys
    from core.services import audit
    from core.services.calendar import seed_calendar

    audit.bind_keys(Keys.from_secret(settings.secret_key))  # seeding is audited
    years = await seed_calendar()
    if years:
        done.append(f"work calendar seeded for {min(years)}–{max(years)}")
    await close_engine(engine)
    return done


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


async def ensure_app_role(engine: PostgresEngine, settings: Settings) -> list[str]:
    app = pg_config_from_url(settings.database.url)
    admin = pg_config_from_url(settings.database.admin_url or settings.database.url)
    role = str(app["user"])
    if role == admin["user"]:
        log.warning(
            "DATABASE_URL uses the owner role %s: row-level security is bypassed "
            "for superusers and owners; set DATABASE_ADMIN_URL and a separate app role",
            role,
        )
        return ["app role: same as owner (RLS weaker)"]
    ident = _quote_ident(role)
    rows = await engine.run_ddl(f"SELECT 1 FROM pg_roles WHERE rolname = {_quote_literal(role)}")
    password = f" PASSWORD {_quote_literal(str(app['password']))}" if app.get("password") else ""
    if not rows:
        await engine.run_ddl(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS{password}")
    else:
        await engine.run_ddl(f"ALTER ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS{password}")
    database = _quote_ident(str(app["database"]))
    for sql in (
        f"GRANT CONNECT ON DATABASE {database} TO {ident}",
        f"GRANT USAGE ON SCHEMA public TO {ident}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ident}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ident}",
        # The event log is append-only for the application.
        f"REVOKE UPDATE, DELETE ON case_event FROM {ident}",
        f"REVOKE UPDATE, DELETE ON audit_log FROM {ident}",
        f"REVOKE DELETE ON audit_head FROM {ident}",
        f"REVOKE ALL ON migration FROM {ident}",
        f"GRANT SELECT ON migration TO {ident}",
    ):
        await engine.run_ddl(sql)
    return [f"app role {role} granted"]
