"""Shared fixtures. Integration tests run against BOTH engines: a SQLite file and the
real PostgreSQL server (as the non-owner app role, so row-level security is live),
with the real Redis server. Each test makes its own tenants, so tests never share rows."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

os.environ.setdefault("TZ", "Asia/Shanghai")
# On SQLite a statement on a tenant table without tenant_id, inside a tenant transaction,
# is refused (core/db/tenancy.py): a query that forgot the tenant wall fails the suite.
os.environ.setdefault("XINFANG_TENANCY_CHECK", "raise")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PG_ADMIN = os.environ.get("XINFANG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432")
PG_APP_ROLE = "xinfang_test_app"
REDIS_URL = os.environ.get("XINFANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
PASSWORD = "correct-horse-battery"

from core import security  # noqa: E402

security.configure_password_hasher(time_cost=1, memory_cost=1024)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start from an empty test Redis database: login-throttle counters, sessions and
    queued jobs of an earlier run (Redis outlives it) must not leak into this one."""
    import contextlib

    import redis

    # Unit tests need no Redis; integration tests will say it is missing.
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()


@dataclass
class Backend:
    name: str
    settings: Any
    rt: Any
    engine: Any
    admin_url: str | None = None


def _settings(tmp: Path, database_url: str, admin_url: str | None = None) -> Any:
    from core.settings import load_settings

    env = {
        "XINFANG_DATA_DIR": str(tmp),
        "XINFANG_SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
    }
    if admin_url:
        env["DATABASE_ADMIN_URL"] = admin_url
    return load_settings(env)


async def _create_pg_database(name: str) -> None:
    conn = await asyncpg.connect(f"{PG_ADMIN}/test")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(f"{PG_ADMIN}/test")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    from arq import create_pool

    from core.bootstrap import migrate
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.redis import arq_settings
    from core.runtime import Runtime

    tmp = tmp_path_factory.mktemp(request.param)
    dbname = None
    if request.param == "sqlite":
        settings = _settings(tmp, f"sqlite:///{tmp / 'test.sqlite'}")
    else:
        dbname = f"xinfang_test_{os.getpid()}"
        await _create_pg_database(dbname)
        settings = _settings(
            tmp,
            f"postgresql://{PG_APP_ROLE}@127.0.0.1:5432/{dbname}",
            admin_url=f"{PG_ADMIN}/{dbname}",
        )
    await migrate(settings)
    rt = Runtime.build(settings)
    engine = make_engine(settings.database)
    bind_engine(engine)
    await open_engine(engine, pool_size=5)
    rt.redis = await create_pool(arq_settings(settings))
    yield Backend(request.param, settings, rt, engine, settings.database.admin_url)
    await rt.redis.aclose()
    await close_engine(engine)
    if dbname:
        await _drop_pg_database(dbname)


@pytest.fixture
def rt(backend: Backend) -> Any:
    from core.db.engine import bind_engine

    bind_engine(backend.engine)
    return backend.rt


def client_address() -> str:
    """A loopback address of the test's own: login throttling counts failures per client
    address (in Redis, which outlives a test), so tests must not share one."""
    octets = (secrets.randbelow(250), secrets.randbelow(250), secrets.randbelow(250) + 1)
    return "127.{}.{}.{}".format(*octets)


@pytest.fixture
async def client(rt: Any) -> AsyncIterator[httpx.AsyncClient]:
    """In-process ASGI client on the test's own event loop.

    Litestar's AsyncTestClient runs the app in a portal thread with another loop, which
    asyncpg's pool (bound to this loop) cannot serve.
    """
    from core.web.app import create_app

    app = create_app(rt, manage_resources=False)
    transport = httpx.ASGITransport(app=app, client=(client_address(), 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@dataclass
class TenantFixture:
    id: int
    slug: str
    info: Any
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str = "clerk") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def scope(self, rt: Any) -> Any:
        """The tenant's system scope (nobody acting), for calling services directly."""
        from core.services.scope import Scope

        return Scope.system(rt, self.id, self.slug)

    def acting(self, rt: Any, principal: Any) -> Any:
        """The scope of ``principal`` (a staff member of this tenant) acting."""
        from core.services.scope import Scope

        assert principal.tenant_id == self.id
        return Scope.of(rt, principal)


@pytest.fixture
def make_tenant(rt: Any) -> Any:
    from core.schemas import DepartmentIn
    from core.services import departments, tenants, users

    async def factory(
        plugins: tuple[str, ...] = (), rule_pack: str = "cn-2022", prefix: str = "t"
    ) -> TenantFixture:
        slug = f"{prefix}-{secrets.token_hex(4)}"
        info = await tenants.create_tenant(
            rt, slug=slug, name=f"测试机构 {slug}", rule_pack=rule_pack, plugins=list(plugins)
        )
        t = TenantFixture(id=info.id, slug=slug, info=info)
        sc = t.scope(rt)
        for code in ("petition", "handling"):
            d = await departments.create_department(sc, DepartmentIn(code=code, name=code))
            t.departments[code] = d["id"]
        for role in ("admin", "clerk", "leader", "handler", "supervisor"):
            t.users[role] = await users.create_user(
                sc,
                username=role,
                display_name=f"{role}-user",
                password=PASSWORD,
                roles=[role],
                department_id=t.departments["handling"]
                if role == "handler"
                else t.departments["petition"],
            )
            t.tokens[role], _ = await users.create_token(sc, t.users[role]["id"], name="test")
        return t

    return factory


def valid_id_number(region: str = "110105", birth: str = "19800101", seq: int = 123) -> str:
    from stdnum.cn import ric

    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder digit
