"""Statistics over 1,000,000 matters of one organization on PostgreSQL (not a pass/fail
test).

Creates a dedicated database, loads one tenant with BENCH_STATS_CASES matters (default
1,000,000) spread over 2026 — four channels, five categories, ten departments, 2 % group
visits, 10 % repeats, 5 % answered at once, 10 % not accepted, 30 % in handling (an open
clock, some overdue), 55 % closed (a met clock, some late; a third followed up) — among
250,000 petitioners, plus a small second tenant, all with generate_series. Then, as the
app role under row-level security, measures:

1. the floor: a bare ``SELECT count(*)`` over the tenant's matters (raw asyncpg);
2. ``core.services.stats.compute`` for the whole year (every matter in the period) and
   for one month, several runs each: p50 / p95, and the ratio against the floor.

Prints the load time, the timings and the headline figures (to show the work was done).
Drops the database at the end.

Environment: BENCH_STATS_CASES (default 1000000), BENCH_STATS_RUNS (default 7),
XINFANG_TEST_PG_ADMIN.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

PG_ADMIN = os.environ.get("XINFANG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432")
NOW_TEXT = "2027-01-20T09:00:00+08:00"
VISITORS = 250_000
# g % 20: 0 answered at once, 1–2 not accepted, 3–8 in handling, 9–19 closed.
CASES_SQL = """
INSERT INTO petition_case (tenant_id, receipt_code, visitor_id, channel, visit_kind,
  headcount, is_group, category, cause, status, department_id, received_at, closed_at,
  first_contact_closed, opinion, opinion_at, flags, created_at, updated_at)
SELECT s.tenant_id, 'XF' || lpad(s.g::text, 9, '0'), s.vmin + s.g % s.nv,
  (ARRAY['visit', 'letter', 'phone', 'online'])[1 + s.g % 4],
  CASE WHEN s.g % 10 = 3 THEN 'repeat' ELSE 'first' END,
  CASE WHEN s.g % 50 = 0 THEN 6 ELSE 1 END, s.g % 50 = 0,
  (ARRAY['general', 'water', 'power', 'heating', 'fees'])[1 + (s.g / 7) % 5],
  '事由',
  CASE WHEN s.o = 0 THEN 'closed' WHEN s.o < 3 THEN 'not_accepted'
       WHEN s.o < 9 THEN 'in_progress' ELSE 'closed' END,
  s.dmin + s.g % 10, s.received,
  CASE WHEN s.o = 0 THEN s.received
       WHEN s.o >= 9 THEN s.received + ((s.g % 80) || ' days')::interval END,
  s.o = 0,
  CASE WHEN s.o = 0 THEN 'explain' WHEN s.o >= 9 THEN 'support' ELSE '' END,
  CASE WHEN s.o = 0 OR s.o < 3 THEN s.received
       WHEN s.o >= 9 THEN s.received + ((s.g % 80) || ' days')::interval END,
  CASE WHEN s.o >= 9 AND s.g % 3 = 0
       THEN jsonb_build_object('satisfaction',
         (ARRAY['satisfied', 'basically_satisfied', 'unsatisfied'])[1 + (s.g / 3) % 3])
       ELSE '{}'::jsonb END,
  s.received, s.received
FROM (
  SELECT $1::int AS tenant_id, $3::int AS vmin, $4::int AS nv, $5::int AS dmin, g, g % 20 AS o,
    timestamptz '2026-01-01 08:30+08' + ((g % 365) || ' days')::interval
      + ((g % 540) || ' minutes')::interval AS received
  FROM generate_series(1, $2::int) g
) s
"""


async def _load(admin_url: str, cases: int) -> int:
    """Load the matters; returns the big tenant's id."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        t0 = time.perf_counter()
        await conn.execute(
            "INSERT INTO tenant (slug, name, rule_pack, timezone, settings, active, created_at)"
            " VALUES ('bench-stats', '压测机构', 'cn-2022', 'Asia/Shanghai', '{}', true, now()),"
            " ('bench-other', '另一机构', 'cn-2022', 'Asia/Shanghai', '{}', true, now())"
        )
        big = await conn.fetchval("SELECT id FROM tenant WHERE slug = 'bench-stats'")
        await conn.execute(
            "INSERT INTO department (tenant_id, code, name, kind, created_at)"
            " SELECT t.id, 'd' || g, '部门' || g, 'office', now()"
            " FROM tenant t CROSS JOIN generate_series(0, 9) g"
        )
        await conn.execute(
            "INSERT INTO visitor (tenant_id, name, name_hash, id_number_masked, phone_masked,"
            " address_masked, gender, flags, created_at, updated_at)"
            " SELECT t.id, '某某', 'h', '', '', '', '', '{}', now(), now()"
            " FROM tenant t CROSS JOIN generate_series(1, CASE WHEN t.id = $1 THEN $2 ELSE 100"
            " END) g",
            big,
            VISITORS,
        )
        # g % 20: 0 answered at once, 1–2 not accepted, 3–8 in handling, 9–19 closed.
        for tid, n in ((big, cases), (big + 1, 1000)):
            vmin, nv = await conn.fetchrow(
                "SELECT min(id), count(*) FROM visitor WHERE tenant_id = $1", tid
            )
            dmin = await conn.fetchval("SELECT min(id) FROM department WHERE tenant_id = $1", tid)
            await conn.execute(CASES_SQL, tid, n, vmin, nv, dmin)
        # Accepted matters: one handle clock from the registration day, 60 days.
        await conn.execute(
            """
INSERT INTO case_deadline (tenant_id, case_id, clock, started_on, due, days, mode, pack,
  pack_version, provisional, pauses, steps, state, met_at, created_at, updated_at)
SELECT c.tenant_id, c.id, 'handle', (c.received_at AT TIME ZONE 'Asia/Shanghai')::date,
  (c.received_at AT TIME ZONE 'Asia/Shanghai')::date + 60, 60, 'calendar', 'cn-2022', '1',
  false, '[]', '[]', CASE WHEN c.status = 'closed' THEN 'met' ELSE 'open' END,
  CASE WHEN c.status = 'closed' THEN c.closed_at END, c.received_at, c.received_at
FROM petition_case c
WHERE c.status = 'in_progress' OR (c.status = 'closed' AND NOT c.first_contact_closed)
"""
        )
        await conn.execute("VACUUM ANALYZE")  # what autovacuum does to a settled table
        n = await conn.fetchval("SELECT count(*) FROM petition_case WHERE tenant_id = $1", big)
        k = await conn.fetchval("SELECT count(*) FROM case_deadline")
        print(
            f"  loaded {n:,} matters and {k:,} clocks in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        return int(big)
    finally:
        await conn.close()


async def _floor(app_url: str, tid: int, runs: int) -> list[float]:
    """Raw asyncpg under the tenant: a bare count of its matters."""
    import asyncpg

    conn = await asyncpg.connect(app_url)
    out = []
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
                await conn.fetchval("SELECT count(*) FROM petition_case WHERE tenant_id = $1", tid)
            out.append(time.perf_counter() - t0)
    finally:
        await conn.close()
    return out


def _p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def _run(cases: int, runs: int) -> None:
    import asyncpg

    from core.bootstrap import migrate
    from core.clock import FixedClock
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime
    from core.services import stats
    from core.services.scope import Scope
    from core.settings import load_settings

    dbname = f"xinfang_bench_stats_{os.getpid()}"
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
            tid = await _load(f"{PG_ADMIN}/{dbname}", cases)
            rt = Runtime.build(settings, clock=FixedClock(datetime.fromisoformat(NOW_TEXT)))
            engine = make_engine(settings.database)
            bind_engine(engine)
            await open_engine(engine, pool_size=4)
            try:
                floor = await _floor(app_url, tid, runs)
                f50 = _p(floor, 0.5)
                print(
                    f"  floor: SELECT count(*) of the tenant's matters: p50 {f50 * 1000:.0f} ms,"
                    f" p95 {_p(floor, 0.95) * 1000:.0f} ms",
                    flush=True,
                )
                sc = Scope.system(rt, tid, "bench-stats")
                for label, start, end in (
                    ("year 2026", date(2026, 1, 1), date(2026, 12, 31)),
                    ("month 2026-06", date(2026, 6, 1), date(2026, 6, 30)),
                ):
                    q = stats.Query(start=start, end=end)
                    times = []
                    out = None
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        out = await stats.compute(sc, q)
                        times.append(time.perf_counter() - t0)
                    assert out is not None
                    p50, p95 = _p(times, 0.5), _p(times, 0.95)
                    print(
                        f"  stats {label}: {out.batches:,} matters; p50 {p50 * 1000:.0f} ms,"
                        f" p95 {p95 * 1000:.0f} ms over {runs} runs; x{p50 / f50:.1f} the floor"
                        f" — closed {out.closed:,}, on time {out.closed_on_time:,},"
                        f" overdue {out.overdue_open:,}, settled {out.settled.settled:,}"
                        f"/{out.settled.eligible:,}, avg {out.avg_handling_days} days",
                        flush=True,
                    )
            finally:
                await close_engine(engine)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    cases = int(os.environ.get("BENCH_STATS_CASES", "1000000"))
    runs = int(os.environ.get("BENCH_STATS_RUNS", "7"))
    print(f"statistics: {cases:,} matters of one tenant (PostgreSQL, app role + RLS)")
    asyncio.run(_run(cases, runs))


if __name__ == "__main__":
    main()
