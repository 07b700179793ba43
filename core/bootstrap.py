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
        done += await ensure_owner_policies(engine)
    from core.security import Keys
    from core.services.calendar import seed_calendar

    # Seeding is audited: a runtime of the keys alone (no plugins are needed for it).
    keys = Keys.from_secrets(settings.secret_key, settings.previous_secret_keys)
    years = await seed_calendar(Runtime(settings=settings, keys=keys))
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
    done: list[str] = []
    ident = _quote_ident(role)
    rows = await engine.run_ddl(
        "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles"
        f" WHERE rolname = {_quote_literal(role)}"
    )
    password = f" PASSWORD {_quote_literal(str(app['password']))}" if app.get("password") else ""
    if not rows:
        await engine.run_ddl(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS{password}")
    else:
        # Only a superuser may even restate SUPERUSER/BYPASSRLS, so a CREATEROLE owner
        # touches them only to take them away (and fails loudly when it cannot).
        if rows[0]["rolsuper"] or rows[0]["rolbypassrls"]:
            await _alter_role(engine, f"ALTER ROLE {ident} NOSUPERUSER NOBYPASSRLS", role)
        # Keeps the password in step with DATABASE_URL. An owner without CREATEROLE (a
        # role made beforehand by the DBA, §5 of deploy/README.md) cannot: that is fine.
        if (password or not rows[0]["rolcanlogin"]) and not await _alter_role(
            engine, f"ALTER ROLE {ident} LOGIN{password}", role, required=False
        ):
            done.append(f"app role {role}: password/LOGIN left as they are (no CREATEROLE)")
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
    await _check_app_role(engine, role)
    return [*done, f"app role {role} granted"]


async def _alter_role(
    engine: PostgresEngine, sql: str, role: str, *, required: bool = True
) -> bool:
    import asyncpg

    try:
        await engine.run_ddl(sql)
    except asyncpg.InsufficientPrivilegeError as exc:
        if not required:
            log.warning("could not alter the app role %s: %s", role, exc)
            return False
        raise SystemExit(
            f"无法修改应用角色 {role}（{exc}）：迁移所用的所有者角色需要 CREATEROLE，"
            f"或请数据库管理员执行：{sql.split(' PASSWORD ')[0]}"
        ) from None
    return True


async def _check_app_role(engine: PostgresEngine, role: str) -> None:
    """Row-level security holds only if the app role can neither bypass it nor own a table."""
    rows = await engine.run_ddl(
        "SELECT r.rolsuper OR r.rolbypassrls AS privileged,"
        " (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid"
        "  AND c.relnamespace = current_schema()::regnamespace) AS owned"
        f" FROM pg_roles r WHERE r.rolname = {_quote_literal(role)}"
    )
    if rows and (rows[0]["privileged"] or rows[0]["owned"]):
        raise SystemExit(
            f"应用角色 {role} 是超级用户、可绕过行级安全或拥有数据表，行级安全对它无效；"
            "请改用一个只有 LOGIN 权限的新角色（见 deploy/README.md §5）。"
        )


async def ensure_owner_policies(engine: PostgresEngine) -> list[str]:
    """Give each table owner the maintenance policy that backup and restore switch on
    (``app.all_tenants``); see ``core.db.rls.owner_policy_sql``."""
    from core.db.rls import OWNER_POLICY, owner_policy_sql

    rows = await engine.run_ddl(
        "SELECT c.relname AS table, pg_get_userbyid(c.relowner) AS owner,"
        " (SELECT p.roles FROM pg_policies p WHERE p.schemaname = current_schema()"
        f"   AND p.tablename = c.relname AND p.policyname = {_quote_literal(OWNER_POLICY)})"
        "   AS roles"
        " FROM pg_class c WHERE c.relkind = 'r' AND c.relrowsecurity"
        " AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
    )
    changed = 0
    for row in rows:
        if row["roles"] == [row["owner"]]:
            continue
        for sql in owner_policy_sql(row["table"], row["owner"], exists=row["roles"] is not None):
            await engine.run_ddl(sql)
        changed += 1
    return [f"owner maintenance policy on {changed} tables"] if changed else []
