"""A database made by an earlier release upgrades with no loss (issue #12 item 1).

The release is commit ``001ca27``: the last landed main before the rota and notify
tables, their migrations and Piccolo apps moved from ``daemon/`` into ``core/db/``.
Its own code (``git archive`` of that commit, run with ``PYTHONPATH`` on it) migrates a
fresh SQLite file or PostgreSQL database, loads the demo and runs a deadline tick 40
days later (reminders, outbox, inbox messages); then this code's ``migrate`` upgrades
it. Every row of every earlier table must still be there, Piccolo's record must keep the
app names and migration IDs (nothing ran twice) and the staff must read it all through
the API.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from core.settings import TIMEZONE
from tests.conftest import PG_ADMIN, REDIS_URL, TEST_SECRET
from tests.integration.test_backup_restore import _login

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "001ca27f5082723ac0286ec7aa30871f30d7511c"  # 001ca27
PID = os.getpid()
APP_ROLE = f"xinfang_up_app_{PID}"
Rows = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def release_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The earlier release's source tree, from this repository's history."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the earlier release's code comes from git history")
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{RELEASE}^{{commit}}"], check=False
    )
    if known.returncode != 0:
        pytest.skip(f"commit {RELEASE[:7]} is not in this clone's history (shallow clone)")
    out = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", RELEASE],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, f"git archive {RELEASE} (a shallow clone?): {out.stderr!r}"
    tree = tmp_path_factory.mktemp("release")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(tree, filter="data")
    assert (tree / "daemon" / "tables.py").is_file(), "the release still has the old layout"
    # The example plugin installed in this environment is built for today's plugin API;
    # an installation of the earlier release had the plugin of its own time. The release
    # runs without it: an empty package of that name, first on its path, hides it.
    # So are this tree's plugins the release did not ship (an installation of the release
    # did not have them): the same empty package, in the release's ``plugins``.
    later = {p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").is_file()}
    shipped = {p.name for p in (tree / "plugins").iterdir() if p.is_dir()}
    for stub in [tree / "xinfang_housing", *(tree / "plugins" / n for n in later - shipped)]:
        stub.mkdir()
        (stub / "__init__.py").write_text('"""Hidden from the earlier release."""\n')
    return tree


@dataclass
class Install:
    kind: str
    data_dir: Path
    dbname: str | None = None

    def env(self, code: Path, now_file: Path | None = None) -> dict[str, str]:
        drop = {"DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "XINFANG_FAKE_NOW_FILE"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            XINFANG_DATA_DIR=str(self.data_dir),
            XINFANG_SECRET_KEY=TEST_SECRET,
            REDIS_URL=REDIS_URL,
            PYTHONPATH=str(code),
        )
        if now_file is not None:
            env["XINFANG_FAKE_NOW_FILE"] = str(now_file)
        if self.dbname:
            env["DATABASE_URL"] = f"postgresql://{APP_ROLE}@127.0.0.1:5432/{self.dbname}"
            env["DATABASE_ADMIN_URL"] = f"{PG_ADMIN}/{self.dbname}"
        return env

    async def cli(self, code: Path, *args: str, now_file: Path | None = None) -> str:
        """``xinfang ARGS`` run by the code in ``code`` (its directory first on the path)."""
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "core.cli", *args],
            env=self.env(code, now_file),
            cwd=code,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{code.name}: xinfang {args}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    async def read(self) -> tuple[Rows, dict[str, list[str]]]:
        """Every row of every table as stored (superuser / raw SQLite), and the columns."""
        if self.dbname is None:
            return await asyncio.to_thread(_sqlite_read, self.data_dir / "xinfang.sqlite")
        conn = await asyncpg.connect(f"{PG_ADMIN}/{self.dbname}")
        try:
            cols: dict[str, list[str]] = {}
            for r in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            ):
                cols.setdefault(r["table_name"], []).append(r["column_name"])
            rows = {
                t: [tuple(r.values()) for r in await conn.fetch(f'SELECT * FROM "{t}" ORDER BY id')]
                for t in cols
            }
            return rows, cols
        finally:
            await conn.close()


def _sqlite_read(path: Path) -> tuple[Rows, dict[str, list[str]]]:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        cols = {t: [c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')] for t in names}
        rows = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY id').fetchall() for t in names}
        return rows, cols
    finally:
        conn.close()


def _as_dicts(rows: Rows, cols: dict[str, list[str]], table: str) -> list[dict[str, Any]]:
    return [dict(zip(cols[table], r, strict=True)) for r in rows[table]]


def _migration_ids() -> set[tuple[str, str]]:
    """(app name, migration ID) of every migration this code ships."""
    from core import piccolo_conf

    out = set()
    for app in piccolo_conf.APP_REGISTRY.app_configs.values():
        for path in Path(app.migrations_folder_path).glob("m*.py"):
            found = re.search(r'^ID = "([^"]+)"', path.read_text(encoding="utf-8"), re.M)
            assert found, path
            out.add((app.app_name, found.group(1)))
    return out


@pytest.fixture(params=["sqlite", "postgres"])
async def install(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Install]:
    inst = Install(request.param, tmp_path_factory.mktemp(f"upgrade-{request.param}"))
    if request.param == "postgres":
        inst.dbname = f"xinfang_upgrade_{PID}"
        await _admin(f'DROP DATABASE IF EXISTS "{inst.dbname}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{inst.dbname}"')
    yield inst
    if inst.dbname:
        await _admin(f'DROP DATABASE IF EXISTS "{inst.dbname}" WITH (FORCE)')
        await _admin(f'DROP ROLE IF EXISTS "{APP_ROLE}"')


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_ADMIN}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def api_on() -> AsyncIterator[Any]:
    """The current web app, in process, on an installation's database (app role)."""
    from arq import create_pool

    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.redis import arq_settings
    from core.runtime import Runtime
    from core.settings import load_settings
    from core.web.app import create_app

    opened: list[Any] = []

    async def open_app(inst: Install) -> Any:
        settings = load_settings(inst.env(ROOT))
        rt = Runtime.build(settings)
        engine = make_engine(settings.database)
        bind_engine(engine)
        await open_engine(engine, pool_size=2)
        rt.redis = await create_pool(arq_settings(settings))
        opened.append((rt, engine))
        return create_app(rt, manage_resources=False)

    yield open_app
    for rt, engine in opened:
        await rt.redis.aclose()
        await close_engine(engine)


async def test_a_database_of_the_earlier_release_upgrades_with_every_row_readable(
    install: Install, release_code: Path, api_on: Any, tmp_path: Path
) -> None:
    # The earlier release makes and fills the database, as its users did.
    await install.cli(release_code, "migrate")
    await install.cli(release_code, "demo")
    later = (datetime.now(TIMEZONE) + timedelta(days=40)).replace(hour=10, minute=0)
    now_file = tmp_path / "now"
    now_file.write_text(later.isoformat(), encoding="utf-8")
    await install.cli(release_code, "tick", now_file=now_file)
    before, before_cols = await install.read()
    for table in ("petition_case", "case_deadline", "rota_slot", "reminder", "inbox_message"):
        assert before[table], f"the earlier release wrote no {table} rows"
    assert "inbox_message_case" not in before, "the release predates the case links"

    out = await install.cli(ROOT, "migrate")
    assert "migrations applied" in out
    after, after_cols = await install.read()

    # Piccolo's record: the earlier entries kept as they were (app names 'daemon' and
    # 'notify' included), the new ones added once, and nothing else.
    old_runs = [(r["app_name"], r["name"]) for r in _as_dicts(before, before_cols, "migration")]
    new_runs = [(r["app_name"], r["name"]) for r in _as_dicts(after, after_cols, "migration")]
    assert new_runs[: len(old_runs)] == old_runs
    assert {"daemon", "notify"} <= {app for app, _ in old_runs}
    assert len(new_runs) == len(set(new_runs)), "a migration ran twice"
    assert set(new_runs) == _migration_ids()

    # Every earlier row of every earlier table, unchanged in every earlier column.
    for table, rows in before.items():
        if table == "migration":
            continue
        assert table in after, f"table {table} is gone"
        keep = [after_cols[table].index(c) for c in before_cols[table]]
        assert [tuple(r[i] for i in keep) for r in after[table]] == rows, table

    # The upgrade linked the earlier inbox messages to the cases their payloads name.
    from core.domain.notices import cases_of, load_payload

    payloads = {o["id"]: o["payload"] for o in _as_dicts(before, before_cols, "outbox")}
    expected = {
        (m["id"], case)
        for m in _as_dicts(before, before_cols, "inbox_message")
        for case in cases_of(load_payload(payloads.get(m["outbox_id"])))
        | cases_of({"link": m["link"]})
    }
    links = {
        (r["message_id"], r["case_id"]) for r in _as_dicts(after, after_cols, "inbox_message_case")
    }
    assert expected and links == expected

    # The staff read it all through the API: cases, clocks, rota and their inbox.
    about: dict[int, set[int]] = {}
    for message_id, case_id in links:
        about.setdefault(message_id, set()).add(case_id)
    await _read_through_the_api(await api_on(install), before, before_cols, about)


async def _read_through_the_api(
    app: Any, rows: Rows, cols: dict[str, list[str]], about: dict[int, set[int]]
) -> None:
    tenants = {t["id"]: t["slug"] for t in _as_dicts(rows, cols, "tenant")}
    cases = _as_dicts(rows, cols, "petition_case")
    deadlines = _as_dicts(rows, cols, "case_deadline")
    slots = _as_dicts(rows, cols, "rota_slot")
    inbox = _as_dicts(rows, cols, "inbox_message")
    staff = _as_dicts(rows, cols, "staff_user")
    assert len(tenants) == 4 and staff

    seen_cases: set[int] = set()
    seen_messages: set[int] = set()
    for user in staff:
        if not user["active"]:  # the Open311 intake account, which never logs in
            assert not [m for m in inbox if m["user_id"] == user["id"]]
            continue
        tid = user["tenant_id"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            assert (await _login(c, tenants[tid], user["username"])).status_code == 303
            theirs = {x["id"] for x in cases if x["tenant_id"] == tid}
            listed = await c.get("/api/v1/cases", params={"limit": 200})
            assert listed.status_code == 200, listed.text
            shown = {x["id"] for x in listed.json()["items"]}
            assert shown <= theirs and listed.json()["next_after"] is None
            for case_id in sorted(theirs):
                detail = await c.get(f"/api/v1/cases/{case_id}")
                # A case left out of the list is one they are accused in: 404, not lost.
                assert detail.status_code == (200 if case_id in shown else 404), detail.text
                if case_id in shown:
                    clocks = await c.get(f"/api/v1/cases/{case_id}/deadlines")
                    assert clocks.status_code == 200, clocks.text
                    stored = {d["id"] for d in deadlines if d["case_id"] == case_id}
                    assert {d["id"] for d in clocks.json()} == stored
            seen_cases |= shown

            got = await c.get("/api/v1/rota/slots")
            assert got.status_code == 200, got.text
            assert {s["id"] for s in got.json()} == {s["id"] for s in slots if s["tenant_id"] == tid}

            messages = await c.get("/api/v1/inbox/", params={"limit": 200})
            assert messages.status_code == 200, messages.text
            mine = {m["id"]: m for m in inbox if m["user_id"] == user["id"]}
            for m in messages.json()["items"]:
                assert m["id"] in mine and m["title"] == mine[m["id"]]["title"]
                seen_messages.add(m["id"])
            for mid in set(mine) - seen_messages:
                # Left out only while the message is about a case hidden from its reader.
                assert about.get(mid, set()) - shown, f"{user['username']}: message {mid} lost"
    assert seen_cases == {x["id"] for x in cases}, "every case is read by someone"
    assert seen_messages, "the inbox shows the earlier messages"

