"""Upgrades and backups without a superuser (the deployment's owner role has only
CREATEROLE), `xinfang backup` / `xinfang restore` for every tenant or one, on both engines.

Everything runs through the CLI in a subprocess, as an operator would; the restored data
is checked table by table and through the API (logins, decrypted personal data)."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import PG_ADMIN, REDIS_URL, TEST_SECRET, client_address

ROOT = Path(__file__).resolve().parents[2]
PID = os.getpid()
OWNER = f"xinfang_bk_owner_{PID}"
APP = f"xinfang_bk_app_{PID}"
DEMO_PASSWORD = "xinfang-demo-2026"
# Piccolo's bookkeeping: the target is migrated by the same release, at another time.
NOT_DATA = {"migration"}


# --- helpers ----------------------------------------------------------------------


async def _super(sql: str, *args: Any, db: str = "test") -> list[asyncpg.Record]:
    conn = await asyncpg.connect(f"{PG_ADMIN}/{db}")
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _new_db(name: str) -> None:
    await _super(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _super(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')


@dataclass
class Deployment:
    """One installation: its data directory and, on PostgreSQL, its own database."""

    kind: str
    data_dir: Path
    dbname: str | None = None
    secret: str = TEST_SECRET

    def env(self) -> dict[str, str]:
        drop = {"DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "XINFANG_SECRET_KEY"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            XINFANG_DATA_DIR=str(self.data_dir),
            XINFANG_SECRET_KEY=self.secret,
            REDIS_URL=REDIS_URL,
            PYTHONPATH=str(ROOT),
        )
        if self.dbname:
            env["DATABASE_URL"] = f"postgresql://{APP}:app-pw@127.0.0.1:5432/{self.dbname}"
            env["DATABASE_ADMIN_URL"] = f"postgresql://{OWNER}@127.0.0.1:5432/{self.dbname}"
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "core.cli", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert proc.returncode == 0, f"xinfang {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    async def acli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.cli, *args, check=check)

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, as stored (read as superuser / raw SQLite)."""
        if self.dbname is None:
            return await asyncio.to_thread(_sqlite_snapshot, self.data_dir / "xinfang.sqlite")
        conn = await asyncpg.connect(f"{PG_ADMIN}/{self.dbname}")
        try:
            names = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
            ]
            out = {}
            for name in names:
                if name in NOT_DATA:
                    continue
                rows = await conn.fetch(f'SELECT * FROM "{name}" ORDER BY id')
                out[name] = [tuple(r.values()) for r in rows]
            return out
        finally:
            await conn.close()


def _sqlite_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)  # no type detection: compare what is stored
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY 1"
            )
        ]
        return {
            n: conn.execute(f'SELECT * FROM "{n}" ORDER BY id').fetchall()
            for n in names
            if n not in NOT_DATA
        }
    finally:
        conn.close()


def _tenant_rows(
    snap: dict[str, list[tuple[Any, ...]]], tenant_id: int, columns: dict[str, list[str]]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of one tenant (``tenant_id`` column, or the tenant row itself)."""
    out = {}
    for table, rows in snap.items():
        cols = columns[table]
        if table == "tenant":
            out[table] = [r for r in rows if r[cols.index("id")] == tenant_id]
        elif "tenant_id" in cols:
            out[table] = [r for r in rows if r[cols.index("tenant_id")] == tenant_id]
    return out


async def _columns(dep: Deployment) -> dict[str, list[str]]:
    if dep.dbname is None:
        conn = sqlite3.connect(dep.data_dir / "xinfang.sqlite")
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {t: [c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
        finally:
            conn.close()
    rows = await _super(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        db=dep.dbname,
    )
    cols: dict[str, list[str]] = {}
    for r in rows:
        cols.setdefault(r["table_name"], []).append(r["column_name"])
    return cols


def _tenant_id(snap: dict[str, list[tuple[Any, ...]]], cols: list[str], slug: str) -> int:
    row = next(r for r in snap["tenant"] if r[cols.index("slug")] == slug)
    return int(row[cols.index("id")])


@pytest.fixture(scope="module")
async def pg_owner() -> AsyncIterator[list[str]]:
    """A non-superuser owner role WITH CREATEROLE LOGIN; the databases made with it."""
    await _super(f'DROP ROLE IF EXISTS "{APP}"')
    await _super(f'DROP ROLE IF EXISTS "{OWNER}"')
    await _super(f'CREATE ROLE "{OWNER}" LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS')
    databases: list[str] = []
    yield databases
    for name in databases:
        await _super(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _super(f'DROP ROLE IF EXISTS "{APP}"')
    await _super(f'DROP ROLE IF EXISTS "{OWNER}"')


@pytest.fixture(scope="module")
def make_deployment(pg_owner: list[str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    async def factory(kind: str, label: str, *, migrate: bool = True) -> Deployment:
        data_dir = tmp_path_factory.mktemp(f"{kind}-{label}")
        dep = Deployment(kind, data_dir)
        if kind == "postgres":
            dep.dbname = f"xinfang_bk_{label}_{PID}"
            pg_owner.append(dep.dbname)
            await _new_db(dep.dbname)
        if migrate:
            await dep.acli("migrate")
        return dep

    return factory


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def source(request: pytest.FixtureRequest, make_deployment: Any) -> Deployment:
    """A deployment with the demo data (four tenants, cases in several states, rotas)."""
    dep: Deployment = await make_deployment(request.param, "src")
    await dep.acli("demo")
    return dep


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """An in-process app on a deployment's database (app role), e.g. after a restore."""
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime
    from core.settings import load_settings
    from core.web.app import create_app

    opened: list[Any] = []

    @dataclass
    class Api:
        client: httpx.AsyncClient
        rt: Any

    async def open_api(dep: Deployment) -> Api:
        settings = load_settings(dep.env())
        rt = Runtime.build(settings)
        engine = make_engine(settings.database)
        bind_engine(engine)
        await open_engine(engine, pool_size=2)
        from arq import create_pool

        from core.redis import arq_settings

        rt.redis = await create_pool(arq_settings(settings))
        app = create_app(rt, manage_resources=False)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_address(), 40000)),
            base_url="http://testserver.local",
        )
        opened.append((client, rt, engine))
        return Api(client, rt)

    yield open_api
    for client, rt, engine in opened:
        await client.aclose()
        await rt.redis.aclose()
        await close_engine(engine)


async def _login(client: httpx.AsyncClient, tenant: str, username: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return await client.post(
        "/login",
        data={
            "tenant": tenant,
            "username": username,
            "password": DEMO_PASSWORD,
            "next": "/",
            "_csrf_token": csrf.group(1),
        },
    )


# --- finding 7: upgrades as a non-superuser owner ----------------------------------


@pytest.mark.postgres
async def test_migrate_twice_as_createrole_owner_keeps_app_role_unprivileged(
    make_deployment: Any,
) -> None:
    dep: Deployment = await make_deployment("postgres", "mig", migrate=False)
    first = await dep.acli("migrate")
    second = await dep.acli("migrate")  # every upgrade runs it again
    assert "migrations applied" in first.stdout and "migrations applied" in second.stdout

    role = await _super(
        "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1", APP
    )
    assert [tuple(r.values()) for r in role] == [(False, False, True)]
    owned = await _super(
        "SELECT count(*) AS n FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid"
        " WHERE r.rolname = $1 AND d.deptype = 'o'",
        APP,
        db=dep.dbname or "",
    )
    assert owned[0]["n"] == 0, "the app role owns nothing"
    tables = await _super(
        "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S')",
        db=dep.dbname or "",
    )
    assert [r["owner"] for r in tables] == [OWNER]


# --- finding 7: backup and restore as the owner ----------------------------------------


def _data_rows(snap: dict[str, list[tuple[Any, ...]]]) -> int:
    return sum(len(rows) for name, rows in snap.items() if not name.startswith("work_calendar"))


async def _personal_data_readable(dep: Deployment, api: Any) -> None:
    """Through the API, with the deployment's secret key: a demo petitioner is found by
    ID number (blind index) and the sealed form field of a case decrypts."""
    from core.demo import PEOPLE, demo_id_number

    a = await api(dep)
    assert (await _login(a.client, "north-heating", "admin")).status_code == 303
    name, birth, _ = PEOPLE[0]
    found = await a.client.get(
        "/api/v1/visitors", params={"id_number": demo_id_number("110105", birth, 11)}
    )
    assert found.status_code == 200, found.text
    assert [v["name"] for v in found.json()] == [name]
    items = (await a.client.get("/api/v1/cases", params={"limit": 200})).json()["items"]
    forms = []
    for item in items:
        detail = await a.client.get(f"/api/v1/cases/{item['id']}")
        assert detail.status_code == 200, detail.text
        forms.append(detail.json()["form"])
    assert {"room": "1201"}.items() <= next(f for f in forms if "room" in f).items()
    assert any(f.get("meter_number") == "WM-100234" for f in forms)


async def test_full_backup_restores_every_row_into_a_fresh_database(
    source: Deployment, make_deployment: Any, api: Any, tmp_path: Path
) -> None:
    before = await source.snapshot()
    assert before["petition_case"] and before["case_event"] and before["rota_slot"]
    file = tmp_path / "all.xfb"
    out = await source.acli("backup", str(file))
    assert "4 个机构" in out.stdout
    assert file.stat().st_mode & 0o077 == 0, "the backup is readable by its owner only"
    with gzip.open(file, "rt", encoding="utf-8") as fh:
        text = fh.read()
    from core.demo import PEOPLE, demo_id_number

    id_number = demo_id_number("110105", PEOPLE[0][1], 11)
    for clear in (id_number, PEOPLE[0][2], "WM-100234"):  # ID number, phone, sealed field
        assert clear not in text, "personal data stays encrypted"

    target: Deployment = await make_deployment(source.kind, "full")
    restored = await target.acli("restore", str(file))
    assert "north-heating" in restored.stdout
    after = await target.snapshot()
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"table {table} differs after the restore"
    assert _data_rows(after) > 200

    await _personal_data_readable(target, api)
    # Sequences moved past the restored ids: new rows do not collide.
    tenant = await target.acli("tenant", "create", "new-one", "--name", "新机构")
    assert "已创建机构 new-one" in tenant.stdout
    # Restoring the same full backup again is refused: the database is no longer empty.
    again = await target.acli("restore", str(file), check=False)
    assert again.returncode == 1 and "restore_target_not_empty" in again.stderr


async def test_tenant_restore_replaces_that_tenant_and_leaves_the_others_alone(
    source: Deployment, api: Any, tmp_path: Path
) -> None:
    from tests.integration.test_platform_api import case_body

    cols = await _columns(source)
    file = tmp_path / "north.xfb"
    at_backup = await source.snapshot()
    await source.acli("backup", "--tenant", "north-heating", str(file))
    north = _tenant_id(at_backup, cols["tenant"], "north-heating")

    # After the backup, both tenants work on (through the API).
    a = await api(source)
    for slug in ("north-heating", "district-court"):
        token = await source.acli("token", "create", "--tenant", slug, "--username", "clerk")
        resp = await a.client.post(
            "/api/v1/cases",
            json=case_body(),
            headers={"Authorization": f"Bearer {token.stdout.strip()}"},
        )
        assert resp.status_code == 201, resp.text
    changed = await source.snapshot()

    def others(snap: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
        mine = _tenant_rows(snap, north, cols)
        return {t: [r for r in rows if r not in mine.get(t, [])] for t, rows in snap.items()}

    assert others(changed) != others(at_backup), "district-court has a new case"
    out = await source.acli("restore", "--tenant", "north-heating", str(file))
    assert "已恢复 north-heating" in out.stdout
    after = await source.snapshot()
    assert _tenant_rows(after, north, cols) == _tenant_rows(at_backup, north, cols)
    assert others(after) == others(changed), "no other tenant's row was touched"

    # The restored tenant keeps working: log in, and a new case gets a fresh id.
    a2 = await api(source)
    assert (await _login(a2.client, "north-heating", "clerk")).status_code == 303
    token = await source.acli("token", "create", "--tenant", "north-heating", "--username", "clerk")
    resp = await a2.client.post(
        "/api/v1/cases",
        json=case_body(),
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
    )
    assert resp.status_code == 201, resp.text
    used = {r[0] for r in changed["petition_case"]}
    assert resp.json()["id"] not in used


async def test_tenant_restore_from_a_full_backup_into_a_deployment_with_other_tenants(
    source: Deployment, make_deployment: Any, api: Any, tmp_path: Path
) -> None:
    """Moving a tenant into another deployment works when no id collides, and is refused
    without a single change when one does."""
    cols = await _columns(source)
    file = tmp_path / "all.xfb"
    await source.acli("backup", str(file))
    snap = await source.snapshot()
    court = _tenant_id(snap, cols["tenant"], "district-court")

    # A deployment whose own tenant already holds id 1 (north-heating's in the backup).
    other: Deployment = await make_deployment(source.kind, "other")
    await other.acli("tenant", "create", "other-org", "--name", "另一机构")
    before = await other.snapshot()
    clash = await other.acli("restore", "--tenant", "north-heating", str(file), check=False)
    assert clash.returncode == 1 and "restore_id_conflict" in clash.stderr, clash.stderr
    assert await other.snapshot() == before, "a refused restore changes nothing"

    # An empty deployment: one tenant out of the full backup, rows exactly as they were.
    empty: Deployment = await make_deployment(source.kind, "one")
    await empty.acli("restore", "--tenant", "district-court", str(file))
    got = await empty.snapshot()
    assert _tenant_rows(got, court, cols) == _tenant_rows(snap, court, cols)
    assert [r[cols["tenant"].index("slug")] for r in got["tenant"]] == ["district-court"]


async def test_restore_refuses_damaged_files_and_another_secret_key(
    source: Deployment, make_deployment: Any, tmp_path: Path
) -> None:
    file = tmp_path / "all.xfb"
    await source.acli("backup", str(file))
    target: Deployment = await make_deployment(source.kind, "refuse")
    before = await target.snapshot()

    with gzip.open(file, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    truncated = tmp_path / "truncated.xfb"
    with gzip.open(truncated, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines[:-40]) + "\n")  # the trailer and the last rows are gone
    cut = await target.acli("restore", str(truncated), check=False)
    assert cut.returncode == 1 and "backup_corrupt" in cut.stderr, cut.stderr

    not_backup = tmp_path / "notes.txt"
    not_backup.write_text("hello")
    bad = await target.acli("restore", str(not_backup), check=False)
    assert bad.returncode == 1 and "backup_corrupt" in bad.stderr, bad.stderr

    target.secret = "another-secret-key-0123456789-abcdefghijklmn"
    wrong_key = await target.acli("restore", str(file), check=False)
    assert wrong_key.returncode == 1 and "backup_key_mismatch" in wrong_key.stderr
    assert await target.snapshot() == before, "nothing was written by a refused restore"

    exists = await source.acli("backup", str(file), check=False)
    assert exists.returncode == 1 and "backup_file_exists" in exists.stderr


@pytest.mark.postgres
async def test_backup_as_the_app_role_is_refused_rather_than_empty(
    make_deployment: Any, tmp_path: Path
) -> None:
    """The app role sees no tenant's rows without app.tenant_id: a backup through it would
    "succeed" with nothing in it (as `pg_dump --enable-row-security` did)."""
    dep: Deployment = await make_deployment("postgres", "approle")
    await dep.acli("tenant", "create", "some-org", "--name", "某机构")
    env = dep.env()
    env["DATABASE_ADMIN_URL"] = env["DATABASE_URL"]
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "core.cli", "backup", str(tmp_path / "x.xfb")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "backup_needs_owner" in proc.stderr, proc.stderr
    assert not (tmp_path / "x.xfb").exists()


@pytest.mark.postgres
async def test_only_the_owner_sees_every_tenant_and_only_when_it_asks(make_deployment: Any) -> None:
    """The maintenance policy opens all tenants to the table owner in a transaction that
    sets app.all_tenants; the app role setting the same variable still sees nothing."""
    dep: Deployment = await make_deployment("postgres", "policy")
    for slug in ("org-a", "org-b"):
        await dep.acli("tenant", "create", slug, "--name", slug)
        await dep.acli(
            "createuser", "--tenant", slug, "--username", "admin", "--role", "admin",
            "--password", "a-long-password-1",
        )  # fmt: skip

    async def count(user: str, all_tenants: bool) -> int:
        conn = await asyncpg.connect(f"postgresql://{user}@127.0.0.1:5432/{dep.dbname}")
        try:
            async with conn.transaction():
                if all_tenants:
                    await conn.execute("SELECT set_config('app.all_tenants', 'on', true)")
                return int(await conn.fetchval("SELECT count(*) FROM staff_user"))
        finally:
            await conn.close()

    assert await count(OWNER, all_tenants=True) == 2
    assert await count(OWNER, all_tenants=False) == 0
    assert await count(APP, all_tenants=True) == 0
