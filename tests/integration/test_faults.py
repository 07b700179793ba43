"""Faults (docs/security.md, "Faults"): the web process SIGKILLed in the middle of
registrations, the database connections cut in the middle of transactions and the
database unreachable for a while, Redis killed and restarted under a running web
process and worker. Afterwards: no partial record (checked as the database owner),
every registration that was answered 201 exists, /readyz went red and came back green
by itself, and the reminders are exactly those the deadlines call for.

A transaction whose COMMIT fails (how a cut session looks to the app) must give its
connection back: the regression test for the pool leak the cut test ran into.

What tests/integration/test_chaos_notify.py already proves (workers SIGKILLed mid-tick
and mid-delivery, queued jobs lost with Redis, days of worker downtime) is not repeated;
here the processes are the real ``xinfang serve`` / ``xinfang worker`` commands.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from core.services import audit
from tests.integration.procs import (
    Registrations,
    Serve,
    Supervised,
    case_body,
    owner_rows,
    partial_records,
    process_env,
)

pytestmark = pytest.mark.asyncio


def assert_complete(rows: dict[str, Any], regs: Registrations) -> None:
    """No partial record; every 201 exists as answered; nothing exists that was not sent."""
    assert partial_records(rows) == []
    mine = {regs.index_of(c["cause"]): c for c in rows["cases"] if regs.marker in c["cause"]}
    assert len(mine) == len(rows["cases"])
    created = {i: r.json() for i, r in regs.answers.items() if r.status_code == 201}
    for i, case in created.items():
        assert i in mine, f"registration {i} was answered 201 but is not in the database"
        assert (mine[i]["id"], mine[i]["receipt_code"]) == (case["id"], case["receipt_code"])
    # A case nobody was told about can only come from an exchange cut after the request
    # was sent, or answered 503 after the commit went through (the session died in or
    # after COMMIT): the outcome is unknown, which is what the 503's message says.
    unknown = set(regs.broken) | {i for i, r in regs.answers.items() if r.status_code == 503}
    assert set(mine) - set(created) <= unknown


async def test_web_process_sigkilled_mid_registration_leaves_whole_cases_only(
    backend: Any, rt: Any, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    server = Serve(process_env(backend, tmp_path), tmp_path / "serve.log")
    await server.start()
    regs = Registrations(server.base, t.headers(), marker=f"kill-{secrets.token_hex(3)}")
    try:
        driver = asyncio.create_task(regs.run(streams=8))
        await regs.until(201, 15)
        server.kill()  # SIGKILL: no shutdown, no rollback by the app
        regs.stop.set()
        await driver
        # Eight clients never idle: some exchanges were cut with the request sent.
        assert regs.broken, "no registration was in flight at the kill"
        await server.start()  # same port, same database
        async with httpx.AsyncClient(timeout=30) as http:
            for i in range(regs.next_i, regs.next_i + 3):
                r = await http.post(
                    f"{server.base}/api/v1/cases",
                    json=case_body(i, regs.marker),
                    headers=t.headers(),
                )
                assert r.status_code == 201, r.text
                regs.answers[i] = r
    finally:
        regs.stop.set()
        server.stop()
    assert set(regs.codes()) == {201}, regs.codes()
    rows = await owner_rows(backend, t.id)
    assert_complete(rows, regs)
    report = await audit.verify_chain(rt, t.id)
    assert report.breaks == []
    assert_check_sees_leftovers(rows)
    print(
        f"web-kill[{backend.name}]: cases={len(rows['cases'])} answered={regs.codes()[201]} "
        f"cut={len(regs.broken)} refused={len(regs.refused)}"
    )


def assert_check_sees_leftovers(rows: dict[str, list[dict[str, Any]]]) -> None:
    """The integrity check is not vacuous: drop any one row a registration writes and
    it reports the leftover."""
    registered = next(e for e in rows["events"] if e["kind"] == "registered")
    case = next(c for c in rows["cases"] if c["id"] == registered["case_id"])
    for table, row in (
        ("cases", case),
        ("events", registered),
        ("deadlines", next(d for d in rows["deadlines"] if d["case_id"] == case["id"])),
        ("outbox", next(o for o in rows["outbox"] if o["dedupe_key"].endswith(f":{case['id']}"))),
        (
            "audit",
            next(a for a in rows["audit"] if f'"event_id":{registered["id"]},' in a["detail"]),
        ),
    ):
        cut = {**rows, table: [r for r in rows[table] if r is not row]}
        assert partial_records(cut), f"a missing {table} row went unnoticed"


# --- PostgreSQL: connections cut mid-transaction, then the database unreachable --------


class OwnAppRole:
    """An app role of this test's own: the shared test role (``xinfang_test_app``) serves
    parallel runs' databases too, so it must never be locked out. Granted like the real
    one (``ensure_app_role``), on this backend's database only."""

    def __init__(self, backend: Any) -> None:
        self.settings = backend.settings
        self.admin_url = backend.admin_url
        self.database = backend.settings.database.pg_config()["database"]
        self.name = f"xinfang_fault_{os.getpid()}"
        self.url = f"postgresql://{self.name}@127.0.0.1:5432/{self.database}"

    async def __aenter__(self) -> OwnAppRole:
        from dataclasses import replace

        from core.bootstrap import ensure_app_role
        from core.db.engine import make_engine

        await self._drop()
        settings = replace(self.settings, database=replace(self.settings.database, url=self.url))
        engine = make_engine(settings.database, admin=True)
        await ensure_app_role(engine, settings)  # type: ignore[arg-type]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._drop()

    async def _admin(self, sql: str, *args: Any) -> list[Any]:
        conn = await asyncpg.connect(self.admin_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def _drop(self) -> None:
        rows = await self._admin("SELECT 1 FROM pg_roles WHERE rolname = $1", self.name)
        if rows:
            await self.cut()
            await self._admin(f'DROP OWNED BY "{self.name}"')
            await self._admin(f'DROP ROLE "{self.name}"')

    async def cut(self) -> list[str]:
        """Terminate every server backend of the role; their states at that moment."""
        rows = await self._admin(
            "SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE usename = $1 AND datname = $2",
            self.name,
            self.database,
        )
        return [r["state"] for r in rows]

    async def login(self, allowed: bool) -> None:
        await self._admin(f'ALTER ROLE "{self.name}" {"LOGIN" if allowed else "NOLOGIN"}')


async def test_a_transaction_whose_commit_fails_gives_its_connection_back(
    backend: Any,
) -> None:
    """Piccolo gave a transaction's connection back and forgot the transaction only
    after COMMIT or ROLLBACK succeeded. When they raised (the session cut by the server,
    SQLite busy), a PostgreSQL pool slot was gone for good — a few cut sessions and no
    request ever got a connection again — an SQLite connection stayed open with its
    thread, and the task's next "transaction" joined the dead one, its statements then
    committing one by one. A deferred constraint makes COMMIT fail on demand."""
    import threading

    from core.db.engine import close_engine, make_engine, open_engine

    engine = make_engine(backend.settings.database)
    await open_engine(engine, pool_size=2)
    if backend.name == "postgres":
        error: type[Exception] = asyncpg.UniqueViolationError
        statements = [
            "CREATE TEMP TABLE once (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP",
            "INSERT INTO once VALUES (1), (1)",
        ]
    else:
        import sqlite3

        error = sqlite3.IntegrityError
        statements = [
            "CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)",
            "CREATE TEMP TABLE child (p INTEGER REFERENCES parent (id)"
            " DEFERRABLE INITIALLY DEFERRED)",
            "INSERT INTO child VALUES (5)",
        ]

    async def failing_commit() -> None:
        with pytest.raises(error):
            async with engine.transaction() as tx:
                for sql in statements:
                    await tx.connection.execute(sql)
        assert engine.current_transaction.get() is None

    threads = threading.active_count()  # aiosqlite: a thread per open connection
    try:
        async with asyncio.timeout(20):  # a leaked pool waits forever
            for _ in range(3):  # one request after another, more than the pool holds
                await asyncio.create_task(failing_commit())
            await failing_commit()
            async with engine.transaction() as tx:
                await tx.connection.execute("SELECT 1")
        assert threading.active_count() <= threads  # no SQLite connection left open
    finally:
        try:
            await asyncio.wait_for(close_engine(engine), 10)
        except TimeoutError:  # a leaked connection is never released
            engine.pool.terminate()


def unavailable_answers(regs: Registrations) -> list[httpx.Response]:
    return [r for r in regs.answers.values() if r.status_code != 201]


async def test_database_connections_cut_mid_transaction_and_database_unreachable(
    backend: Any, rt: Any, make_tenant: Any, tmp_path: Path
) -> None:
    if backend.name != "postgres":
        pytest.skip("server connections exist on PostgreSQL only")
    t = await make_tenant()
    role = OwnAppRole(backend)
    async with role:
        env = process_env(backend, tmp_path, DATABASE_URL=role.url, XINFANG_DB_POOL_SIZE="4")
        server = Serve(env, tmp_path / "serve.log")
        await server.start()
        regs = Registrations(server.base, t.headers(), marker=f"cut-{secrets.token_hex(3)}")
        driver = asyncio.create_task(regs.run(streams=6))
        try:
            await regs.until(201, 8)
            # (1) Connection loss: cut the app's backends until a cut lands inside a
            # transaction (a query running or a transaction open between queries).
            hit = []
            for _ in range(50):
                states = await role.cut()
                hit += [s for s in states if s in ("active", "idle in transaction")]
                if hit:
                    break
                await asyncio.sleep(0.01)
            assert hit, "never caught a transaction in flight"
            # The pool reconnects by itself: registrations go on.
            done = regs.codes()[201]
            await regs.until(201, done + 8)
            # (2) Outage: the role may not log in any more and its sessions are gone.
            await role.login(False)
            await role.cut()
            down = await server.wait_ready(503, 30)
            assert down.json()["checks"]["database"].startswith("error")
            assert down.json()["checks"]["redis"] == "ok"
            refused = len(unavailable_answers(regs))
            deadline = asyncio.get_running_loop().time() + 30
            while len(unavailable_answers(regs)) < refused + 3:
                assert asyncio.get_running_loop().time() < deadline, regs.codes()
                await asyncio.sleep(0.05)
            # (3) Back: nobody restarts anything.
            await role.login(True)
            await server.wait_ready(200, 30)
            done = regs.codes()[201]
            await regs.until(201, done + 5)
        finally:
            regs.stop.set()
            await driver
            server.stop()
    # Every answer: created, or 503 "try again" — never a 500.
    assert set(regs.codes()) <= {201, 503}, regs.codes()
    for r in unavailable_answers(regs):
        assert r.headers.get("retry-after") == "5"
        assert r.json()["error"]["code"] == "database_unavailable", r.text
    rows = await owner_rows(backend, t.id)
    assert_complete(rows, regs)
    assert (await audit.verify_chain(rt, t.id)).breaks == []
    print(f"pg-cut: {regs.codes()} cut={len(regs.broken)} cases={len(rows['cases'])}")


# --- Redis killed and restarted under a running web process and worker --------------


async def test_redis_restart_readyz_recovers_and_no_reminder_is_lost_or_repeated(
    backend: Any, rt: Any, make_tenant: Any, tmp_path: Path
) -> None:
    if backend.name != "postgres":
        pytest.skip("Redis is the same for both engines; the chaos test runs both")
    from arq import create_pool
    from arq.connections import RedisSettings

    from core.domain import reminders as rules
    from core.services.calendar import load_calendar
    from core.settings import TIMEZONE
    from tests.integration.test_chaos_notify import PrivateRedis, _diagnose, _done
    from tests.integration.test_reminders import QUIET, quiet

    t = await make_tenant()
    await quiet(t)
    redis = PrivateRedis(tmp_path)
    redis.start()
    now_file = tmp_path / "now"
    start = datetime.now(TIMEZONE).replace(hour=9, minute=0, second=0, microsecond=0)
    now_file.write_text(start.isoformat())
    env = process_env(
        backend,
        tmp_path,
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        XINFANG_FAKE_NOW_FILE=str(now_file),
        XINFANG_DB_POOL_SIZE="3",
    )
    server = Serve(env, tmp_path / "serve.log")
    worker = Supervised(env, tmp_path / "worker.log")
    pool = None
    try:
        await server.start()
        async with httpx.AsyncClient(timeout=30) as http:
            for i in range(8):
                body = case_body(i, "redis", department_id=t.departments["handling"])
                r = await http.post(f"{server.base}/api/v1/cases", json=body, headers=t.headers())
                assert r.status_code == 201, r.text
        conn = await asyncpg.connect(backend.admin_url)
        try:
            clocks = await conn.fetch(
                "SELECT case_id, clock, due FROM case_deadline WHERE tenant_id = $1", t.id
            )
        finally:
            await conn.close()
        last_due = max(c["due"] for c in clocks)
        # Simulated days from registration to past every escalation; Redis dies midway.
        span = (last_due - start.date()).days + 12
        instants = [start + timedelta(days=d) for d in range(1, span, max(1, span // 8))]
        restart_step = len(instants) // 2
        worker.ensure()
        pool = await create_pool(RedisSettings(host="127.0.0.1", port=redis.port))
        for step, instant in enumerate(instants):
            now_file.write_text(instant.isoformat())
            if step == restart_step:
                redis.kill()  # queued jobs, results and the heartbeat are gone
                down = await server.wait_ready(503, 30)
                checks = down.json()["checks"]
                assert checks["database"] == "ok" and checks["redis"].startswith("error")
                await asyncio.sleep(3)  # several of the worker's polls fail
                redis.start()  # same port, empty
                await server.wait_ready(200, 30)  # the web process reconnects by itself
                await pool.aclose()
                pool = await create_pool(RedisSettings(host="127.0.0.1", port=redis.port))
            loop = asyncio.get_running_loop()
            started, attempt, last = loop.time(), 0, -10.0
            while not await _done(t, instant):
                assert loop.time() - started < 60, f"step {step}: {await _diagnose(t)}"
                if loop.time() - last > 3:
                    # What the worker's own cron enqueues on its next slot.
                    await pool.enqueue_job("notify_tick", _job_id=f"tick-{step}-{attempt}")
                    await pool.enqueue_job("notify_deliver", _job_id=f"dlv-{step}-{attempt}")
                    attempt, last = attempt + 1, loop.time()
                worker.ensure()  # systemd's Restart=on-failure
                await asyncio.sleep(0.05)
    finally:
        if pool is not None:
            await pool.aclose()
        worker.stop()
        server.stop()
        redis.kill()

    from core.db.engine import tenant_tx
    from core.db.notify.tables import InboxMessage, Reminder
    from core.db.tables import Outbox

    final = instants[-1].date()
    cal = await load_calendar()
    policy = rules.Policy.from_settings(QUIET)
    expected = {
        (c["case_id"], s.kind, c["due"])
        for c in clocks
        for s in rules.deadline_stages(c["clock"], c["due"], final, cal, policy)
    }
    async with tenant_tx(t.id, write=False):
        reminders = await Reminder.select().where(Reminder.tenant_id == t.id)
        outbox = await Outbox.select(Outbox.id, Outbox.dedupe_key).where(
            (Outbox.tenant_id == t.id) & Outbox.dedupe_key.like("reminder:%")
        )
        messages = await InboxMessage.select(InboxMessage.outbox_id).where(
            InboxMessage.tenant_id == t.id
        )
    got = [(r["case_id"], r["kind"], r["due_on"]) for r in reminders]
    assert len(got) == len(set(got)), "a reminder was repeated"
    assert set(got) == expected
    per_reminder = Counter(int(o["dedupe_key"].split(":")[1]) for o in outbox)
    for r in reminders:
        assert per_reminder[r["id"]] == (r["recipients"] if r["notified"] else 0)
    assert any(r["notified"] for r in reminders)
    delivered = Counter(m["outbox_id"] for m in messages)
    assert all(delivered[o["id"]] == 1 for o in outbox)
    # A worker that lost Redis exits with a failure, so the service manager restarts it
    # (systemd Restart=on-failure; compose and Kubernetes restart any exit).
    assert all(code != 0 for code in worker.exits), worker.exits
    print(
        f"redis-restart: reminders={len(got)} outbox={len(outbox)} steps={len(instants)} "
        f"worker exits={worker.exits}"
    )
