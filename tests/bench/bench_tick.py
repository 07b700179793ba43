"""Deadline tick over 1,000,000 open cases on PostgreSQL (not a pass/fail test).

Creates a dedicated database, loads 100 tenants x 10,000 cases with one open clock each
(due dates spread over the next two months, a few days overdue) via generate_series,
then measures, as the app role under row-level security:

1. the first (full) tick: derive stages, insert reminders + outbox rows;
2. a second tick the same day (incremental: only rows changed since);
3. the floor: raw asyncpg running the same candidate SELECT per tenant, nothing else;
4. delivery of the outbox for a bounded time (rows/s).

Prints seconds, rows/s, peak RSS (and RSS per tenant batch, to show it stays flat) and
the ratio against the floor. Drops the database at the end.

Environment: BENCH_TICK_CASES (default 1000000), BENCH_TICK_TENANTS (default 100),
BENCH_TICK_DELIVER_SECONDS (default 20), XINFANG_TEST_PG_ADMIN.
"""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

PG_ADMIN = os.environ.get("XINFANG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432")
NOW_TEXT = "2026-09-16T09:00:00+08:00"


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _load(admin_url: str, tenants: int, per_tenant: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        t0 = time.perf_counter()
        await conn.execute(
            "INSERT INTO tenant (slug, name, rule_pack, timezone, settings, active, created_at)"
            " SELECT 'bench-' || g, '压测机构 ' || g, 'cn-2022', 'Asia/Shanghai',"
            ' \'{"reminders": {"digest": false}}\'::jsonb, true, now()'
            " FROM generate_series(1, $1) g",
            tenants,
        )
        await conn.execute(
            "INSERT INTO department (tenant_id, code, name, kind, created_at)"
            " SELECT id, 'handling', '承办科', 'office', now() FROM tenant"
        )
        await conn.execute(
            "INSERT INTO staff_user (tenant_id, username, display_name, password_hash, roles,"
            " department_id, title, email, active, created_at)"
            " SELECT t.id, r.role, r.role, 'x', jsonb_build_array(r.role), d.id, '', '', true,"
            " now() FROM tenant t JOIN department d ON d.tenant_id = t.id"
            " CROSS JOIN (VALUES ('clerk'), ('handler'), ('handler2'), ('supervisor'),"
            " ('leader')) AS r(role)"
        )
        await conn.execute(
            "UPDATE staff_user SET roles = '[\"handler\"]' WHERE username = 'handler2'"
        )
        await conn.execute(
            "INSERT INTO visitor (tenant_id, name, name_hash, id_number_masked, phone_masked,"
            " address_masked, gender, flags, created_at, updated_at)"
            " SELECT id, '某某', 'h', '', '', '', '', '{}', now(), now() FROM tenant"
        )
        await conn.execute(
            "INSERT INTO petition_case (tenant_id, receipt_code, visitor_id, channel, cause,"
            " received_at, created_at, updated_at)"
            " SELECT v.tenant_id, 'XF' || lpad(g::text, 9, '0'), v.id, 'visit', '事由',"
            " now(), now(), now()"
            " FROM visitor v CROSS JOIN generate_series(1, $1) g",
            per_tenant,
        )
        # One open clock per case; due from 5 days ago to 58 days ahead; half assigned.
        await conn.execute(
            "INSERT INTO case_deadline (tenant_id, case_id, clock, started_on, due, days, mode,"
            " pack, pack_version, provisional, pauses, steps, state, responsible_user_id,"
            " responsible_department_id, created_at, updated_at)"
            " SELECT c.tenant_id, c.id, 'handle', date '2026-08-01',"
            " date '2026-09-16' + ((c.id % 64) - 5)::int, 60, 'calendar', 'cn-2022', '1',"
            " false, '[]', '[]', 'open',"
            " CASE WHEN c.id % 2 = 0 THEN u.id END, d.id,"
            " timestamptz '2026-09-01 09:00+08', timestamptz '2026-09-01 09:00+08'"
            " FROM petition_case c JOIN staff_user u ON u.tenant_id = c.tenant_id"
            " AND u.username = 'handler'"
            " JOIN department d ON d.tenant_id = c.tenant_id"
        )
        await conn.execute("ANALYZE")
        n = await conn.fetchval("SELECT count(*) FROM case_deadline")
        print(f"  loaded {n:,} open clocks in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        await conn.close()


async def _floor(app_url: str, ids: list[int], horizon: object) -> tuple[float, int]:
    """Raw asyncpg: the same candidate SELECT per tenant (set_config + fetch), no work."""
    import asyncpg

    conn = await asyncpg.connect(app_url)
    rows = 0
    t0 = time.perf_counter()
    try:
        for tid in ids:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
                res = await conn.fetch(
                    "SELECT d.id, d.case_id, d.clock, d.due, d.responsible_user_id AS uid,"
                    " d.responsible_department_id AS dept, c.receipt_code"
                    " FROM case_deadline d JOIN petition_case c"
                    " ON c.id = d.case_id AND c.tenant_id = d.tenant_id"
                    " WHERE d.tenant_id = $1 AND d.state = 'open' AND d.due <= $2",
                    tid,
                    horizon,
                )
                rows += len(res)
    finally:
        await conn.close()
    return time.perf_counter() - t0, rows


async def _run(cases: int, tenants: int, deliver_seconds: float) -> None:
    import asyncpg

    from core.bootstrap import migrate
    from core.clock import FixedClock
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.domain import reminders as rules
    from core.runtime import Runtime
    from core.services.calendar import load_calendar
    from core.services.scope import Scope
    from core.settings import load_settings
    from daemon.notify.deliver import deliver_tenant
    from daemon.notify.jobs import active_tenants
    from daemon.notify.tick import tick_tenant

    dbname = f"xinfang_bench_tick_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG_ADMIN}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    app_url = f"postgresql://xinfang_bench_app@127.0.0.1:5432/{dbname}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                {
                    "XINFANG_DATA_DIR": str(Path(tmp)),
                    "XINFANG_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
                    "DATABASE_URL": app_url,
                    "DATABASE_ADMIN_URL": f"{PG_ADMIN}/{dbname}",
                    "REDIS_URL": "redis://127.0.0.1:6379/15",
                }
            )
            await migrate(settings)
            await _load(f"{PG_ADMIN}/{dbname}", tenants, cases // tenants)
            now = datetime.fromisoformat(NOW_TEXT)
            rt = Runtime.build(settings, clock=FixedClock(now))
            engine = make_engine(settings.database)
            bind_engine(engine)
            await open_engine(engine, pool_size=4)
            try:
                cal = await load_calendar()
                ts = await active_tenants()
                horizon = rules.horizon(now.date(), cal, rules.Policy())
                pack = rt.rule_pack("cn-2022")
                floor_s, floor_rows = await _floor(app_url, [t["id"] for t in ts], horizon)
                print(
                    f"  floor (raw asyncpg, candidate SELECT only): {floor_s:.2f} s,"
                    f" {floor_rows:,} rows ({floor_rows / floor_s:,.0f} rows/s)",
                    flush=True,
                )
                rss: list[float] = []
                for label in ("full", "incremental"):
                    t0 = time.perf_counter()
                    scanned = made = notes = 0
                    modes = set()
                    for i, t in enumerate(ts):
                        res = await tick_tenant(
                            Scope.system(rt, t["id"], t["slug"]),
                            t["settings"],
                            cal,
                            now,
                            pack=pack,
                        )
                        scanned += res.scanned
                        made += res.reminders
                        notes += res.notifications
                        modes.add(res.mode)
                        if label == "full" and i % 10 == 0:
                            rss.append(_rss_mb())
                    dt = time.perf_counter() - t0
                    print(
                        f"  tick {label} ({'/'.join(sorted(modes))}): {dt:.2f} s over {cases:,}"
                        f" open cases; {scanned:,} candidates scanned ({scanned / dt:,.0f}/s),"
                        f" {made:,} reminders, {notes:,} outbox rows;"
                        f" x{dt / floor_s:.1f} the floor",
                        flush=True,
                    )
                    now = now + timedelta(minutes=5)
                print(
                    f"  RSS during full tick: {min(rss):.0f}-{max(rss):.0f} MB"
                    f" (sampled every 10 tenants); peak RSS {_peak_mb():.0f} MB",
                    flush=True,
                )
                t0 = time.perf_counter()
                delivered = 0
                for t in ts:
                    if time.perf_counter() - t0 > deliver_seconds:
                        break
                    sc = Scope.system(rt, t["id"], t["slug"])
                    delivered += (await deliver_tenant(sc, t["settings"], now)).inbox
                dt = time.perf_counter() - t0
                print(
                    f"  delivery (outbox → inbox), bounded to {deliver_seconds:.0f} s:"
                    f" {delivered:,} messages in {dt:.1f} s ({delivered / dt:,.0f}/s)",
                    flush=True,
                )
            finally:
                await close_engine(engine)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    cases = int(os.environ.get("BENCH_TICK_CASES", "1000000"))
    tenants = int(os.environ.get("BENCH_TICK_TENANTS", "100"))
    deliver_seconds = float(os.environ.get("BENCH_TICK_DELIVER_SECONDS", "20"))
    print(f"deadline tick: {cases:,} open cases in {tenants} tenants (PostgreSQL, app role + RLS)")
    asyncio.run(_run(cases, tenants, deliver_seconds))


if __name__ == "__main__":
    main()
