"""Staff pages at a million matters on PostgreSQL (not a pass/fail test).

Creates a dedicated database, migrates it, and loads BENCH_CASES matters (default
1,000,000) with generate_series: one big tenant holding half of them and the rest spread
over the others, with their people (keyed-hash columns filled), departments, staff,
running clocks (some overdue), events, pending transfers and today's reception sessions —
rows the services and pages read like any others. Then, as the app role under row-level
security, through the real ASGI app (a clerk logged in with a session cookie), it times
BENCH_REQUESTS requests (default 60) of each of:

- the dashboard ``/`` (clerk and supervisor),
- ``/cases`` first page, a filtered page, ``q`` by name, receipt code and ID number,
  a deep keyset page (``after`` near the oldest matter),
- ``/cases/{id}``, and ``GET /api/v1/cases`` first page,

and prints p50/p95 server time and the ratio against the floor: raw asyncpg running the
first page's SELECT (set_config + the same join, newest 51 rows). Before
timing it prints which index PostgreSQL uses for each common filter (EXPLAIN of the
services' own SQL). Drops the database at the end.

Environment: BENCH_CASES (default 1000000), BENCH_TENANTS (default 5), BENCH_REQUESTS
(default 60), XINFANG_TEST_PG_ADMIN. ``python -m tests.bench pages``.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("XINFANG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432")
NOW_TEXT = "2026-11-16T10:00:00+08:00"  # a Monday
PASSWORD = "bench-password-2026"
ID_NUMBER = "110105198001011238"
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅志文玉兰海燕宏"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _load(admin_url: str, cases: int, tenants: int, password_hash: str, id_hash: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        t0 = time.perf_counter()
        now = datetime.fromisoformat(NOW_TEXT)
        await conn.execute(
            "INSERT INTO tenant (slug, name, rule_pack, timezone, settings, active, created_at)"
            " SELECT 'bench-' || g, '压测机构 ' || g, 'cn-2022', 'Asia/Shanghai', '{}', true,"
            " now() FROM generate_series(1, $1) g",
            tenants,
        )
        await conn.execute(
            "INSERT INTO department (tenant_id, code, name, kind, created_at)"
            " SELECT t.id, 'd' || g, '科室' || g, 'office', now()"
            " FROM tenant t CROSS JOIN generate_series(1, 5) g"
        )
        await conn.execute(
            "INSERT INTO staff_user (tenant_id, username, display_name, password_hash, roles,"
            " department_id, title, email, active, created_at)"
            " SELECT t.id, r.role, r.role || '用户', $1, jsonb_build_array(r.role),"
            " (SELECT min(id) FROM department d WHERE d.tenant_id = t.id), '', '', true, now()"
            " FROM tenant t CROSS JOIN (VALUES ('admin'), ('clerk'), ('handler'),"
            " ('supervisor'), ('leader')) AS r(role)",
            password_hash,
        )
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM tenant ORDER BY id")]
        # Half of the matters are the first tenant's (the one measured), the rest spread
        # evenly; arrivals interleave as they do in a shared deployment.
        shares = (
            [cases]
            if tenants == 1
            else [cases // 2] + [cases // 2 // (tenants - 1) + 1] * (tenants - 1)
        )
        vmins, people, dmins = [], [], []
        for tid, n in zip(ids, shares, strict=True):
            vmins.append(await _people(conn, tid, max(1, n * 3 // 5)))
            people.append(max(1, n * 3 // 5))
            dmins.append(
                await conn.fetchval("SELECT min(id) FROM department WHERE tenant_id = $1", tid)
            )
        await _matters(conn, cases, ids, vmins, people, dmins, now)
        await _around(conn, now)
        # The person the ID search looks for: the first tenant's first visitor.
        await conn.execute(
            "UPDATE visitor SET id_number_hash = $1 WHERE id = $2", id_hash, vmins[0]
        )
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled database
        n = await conn.fetchval("SELECT count(*) FROM petition_case")
        e = await conn.fetchval("SELECT count(*) FROM case_event")
        d = await conn.fetchval("SELECT count(*) FROM case_deadline")
        print(
            f"  loaded {n:,} matters, {e:,} events, {d:,} clocks in"
            f" {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    finally:
        await conn.close()


async def _people(conn: Any, tid: int, n: int) -> int:
    """``n`` people of the tenant (names, keyed hashes, masked numbers); the first id."""
    await conn.execute(
        "INSERT INTO visitor (tenant_id, name, name_hash, id_number_hash, id_number_masked,"
        " phone_hash, phone_masked, address_masked, gender, flags, created_at, updated_at)"
        " SELECT $1::int, substr($3, 1 + g % 20, 1) || substr($4, 1 + (g / 20) % 40, 1)"
        " || CASE WHEN g % 3 = 0 THEN substr($4, 1 + (g / 7) % 40, 1) ELSE '' END,"
        " md5('n' || g), md5('i' || $1::text || '-' || g),"
        " '110105********' || lpad((g % 10000)::text, 4, '0'),"
        " md5('p' || $1::text || '-' || g), '138****' || lpad((g % 10000)::text, 4, '0'), '',"
        " CASE WHEN g % 2 = 0 THEN 'male' ELSE 'female' END, '{}', now(), now()"
        " FROM generate_series(1, $2) g",
        tid,
        n,
        SURNAMES,
        GIVEN,
    )
    return int(await conn.fetchval("SELECT min(id) FROM visitor WHERE tenant_id = $1", tid))


async def _matters(
    conn: Any,
    cases: int,
    ids: list[int],
    vmins: list[int],
    people: list[int],
    dmins: list[int],
    now: datetime,
) -> None:
    """Received over two years up to now, oldest first (ids follow time); the state
    follows the age: recent ones still being handled, older ones closed or archived."""
    await conn.execute(
        "INSERT INTO petition_case (tenant_id, receipt_code, visitor_id, channel, visit_kind,"
        " headcount, is_group, category, purpose, legal_category, locality, cause, demand,"
        " form, status, urgency, department_id, received_at, closed_at, first_contact_closed,"
        " opinion, flags, accused, review_level, assigned_from_above, version, created_at,"
        " updated_at)"
        " SELECT ($2::int[])[k], to_char(ts AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-'"
        " || upper(substr(md5(k::text || '-' || g), 1, 8)),"
        " ($3::int[])[k] + (g / 7) % ($4::int[])[k],"
        " (ARRAY['visit', 'letter', 'phone', 'online'])[1 + (g / 3) % 4],"
        " CASE WHEN (g / 2) % 10 = 0 THEN 'repeat' ELSE 'first' END, 1, false, 'general',"
        " 'personal', 'claim', '幸福小区' || (g % 50) || '号楼', '小区供暖温度不达标', '尽快解决',"
        " '{}', st, 'normal', ($5::int[])[k] + (g / 3) % 5, ts,"
        " CASE WHEN st IN ('closed', 'archived', 'final') THEN ts + interval '20 days' END,"
        " false, '', '{}', '{}', 0, false, 1, ts, ts"
        " FROM (SELECT g, k, ts, CASE"
        "   WHEN age < interval '15 days' THEN"
        "     (ARRAY['registered', 'accepted', 'in_progress', 'transferring'])[1 + (g / 2) % 4]"
        "   WHEN age < interval '75 days' THEN"
        "     (ARRAY['in_progress', 'in_progress', 'reported', 'closed'])[1 + (g / 2) % 4]"
        "   ELSE (ARRAY['closed', 'archived', 'closed', 'final', 'not_accepted'])[1 + (g / 2) % 5]"
        " END AS st"
        " FROM (SELECT g, CASE WHEN $7 = 1 OR g % 2 = 0 THEN 1"
        "   ELSE 2 + (g / 2) % ($7 - 1) END AS k,"
        "   $6::timestamptz - (($1 - g) * interval '730 days' / $1) AS ts,"
        "   ($1 - g) * interval '730 days' / $1 AS age FROM generate_series(1, $1) g) a) s",
        cases,
        ids,
        vmins,
        people,
        dmins,
        now,
        len(ids),
    )


async def _around(conn: Any, now: datetime) -> None:
    """Events, running clocks (some overdue), pending transfers, today's sessions."""
    await conn.execute(
        "INSERT INTO case_event (tenant_id, case_id, kind, actor_id, from_status, to_status,"
        " data, at) SELECT tenant_id, id, 'registered', NULL, '', 'registered', '{}',"
        " received_at FROM petition_case"
    )
    await conn.execute(
        "INSERT INTO case_event (tenant_id, case_id, kind, actor_id, from_status, to_status,"
        " data, at) SELECT tenant_id, id, 'accept', NULL, 'registered', 'accepted', '{}',"
        " received_at + interval '2 days' FROM petition_case"
        " WHERE status NOT IN ('registered', 'transferring', 'not_accepted')"
    )
    await conn.execute(
        "INSERT INTO case_deadline (tenant_id, case_id, clock, started_on, due, days, mode,"
        " pack, pack_version, provisional, pauses, steps, state, responsible_user_id,"
        " responsible_department_id, created_at, updated_at)"
        " SELECT c.tenant_id, c.id,"
        " CASE WHEN c.status = 'registered' THEN 'accept' WHEN c.status = 'transferring'"
        "   THEN 'objection' ELSE 'handle' END,"
        " (c.received_at AT TIME ZONE 'Asia/Shanghai')::date,"
        " (c.received_at AT TIME ZONE 'Asia/Shanghai')::date + 60 - (c.id % 70)::int,"
        " 60, 'calendar', 'cn-2022', '2022', false, '[]', '[\"按日历日计算\"]', 'open',"
        " CASE WHEN c.id % 2 = 0 THEN u.id END, c.department_id, c.received_at, c.received_at"
        " FROM petition_case c JOIN staff_user u ON u.tenant_id = c.tenant_id"
        " AND u.username = 'handler'"
        " WHERE c.status IN ('registered', 'accepted', 'transferring', 'in_progress', 'reported')"
    )
    await conn.execute(
        "INSERT INTO case_transfer (tenant_id, case_id, direction, peer_tenant_id, peer_case_id,"
        " from_department_id, to_department_id, status, note, reason, objection_due,"
        " created_at) SELECT tenant_id, id, 'internal', tenant_id, id, NULL, department_id,"
        " 'pending', '', '', (received_at AT TIME ZONE 'Asia/Shanghai')::date + 7, received_at"
        " FROM petition_case WHERE status = 'transferring'"
    )
    await conn.execute(
        "INSERT INTO reception_session (tenant_id, day, half, starts_at, ends_at, place, topics,"
        " kind, leader_id, status, provisional, sequence, note, created_at, updated_at)"
        " SELECT u.tenant_id, $1::date, h,"
        " CASE WHEN h = 'am' THEN time '09:00' ELSE time '14:00' END,"
        " CASE WHEN h = 'am' THEN time '11:30' ELSE time '17:00' END, '一楼接待大厅',"
        " '[\"供热\"]', 'leader_day', u.id, 'published', false, 0, '', now(), now()"
        " FROM staff_user u CROSS JOIN (VALUES ('am'), ('pm')) AS x(h)"
        " WHERE u.username = 'leader'",
        now.date(),
    )


async def _floor(app_url: str, tid: int, n: int) -> list[float]:
    """The first page's rows straight from asyncpg: the least any list page can cost."""
    import asyncpg

    conn = await asyncpg.connect(app_url)
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
                rows = await conn.fetch(
                    "SELECT c.id, c.receipt_code, c.channel, c.visit_kind, c.headcount,"
                    " c.is_group, c.category, c.purpose, c.legal_category, c.locality, c.status,"
                    " c.urgency, c.department_id, c.visitor_id, c.received_at, c.closed_at,"
                    " c.first_contact_closed, v.name, v.id_number_masked, v.phone_masked"
                    " FROM petition_case c JOIN visitor v ON v.id = c.visitor_id"
                    " WHERE c.tenant_id = $1 ORDER BY c.tenant_id DESC, c.id DESC LIMIT 51",
                    tid,
                )
            assert len(rows) == 51
            out.append(time.perf_counter() - t0)
    finally:
        await conn.close()
    return out


async def _explain(admin_url: str, rt: Any, who: Any, tid: int, filters: dict[str, str]) -> None:
    """Which indexes the services' own list SQL uses for each common filter."""
    import asyncpg

    from core.services.cases import reading, search
    from core.services.scope import Scope
    from core.services.tenants import get_tenant

    sc = Scope.of(rt, who)
    tenant = await get_tenant(sc)
    today = await search.today_of(sc, tenant)
    conn = await asyncpg.connect(admin_url)
    try:
        for label, query in filters.items():
            raw = dict(p.split("=", 1) for p in query.split("&")) if query else {}
            after = int(raw.pop("after")) if "after" in raw else None
            f = await search.parse_filter(sc, tenant, raw)
            sql = str(reading.list_query(sc, f, today, after=after, limit=50))
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")
            lines = [r[0] for r in plan]
            used = sorted(
                set(re.findall(r"(?:ix|ux)_[a-z_]+|petition_case_pkey", "\n".join(lines)))
            )
            seq = [ln.strip() for ln in lines if "Seq Scan" in ln]
            ms = next((ln.split(":")[1].strip() for ln in lines if "Execution Time" in ln), "?")
            print(
                f"  plan {label:<22} {ms:>12}  indexes: {', '.join(used) or '-'}"
                + (f"  SEQ: {'; '.join(seq)}" if seq else ""),
                flush=True,
            )
    finally:
        await conn.close()


async def _login(client: Any, slug: str, username: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    r = await client.post(
        "/login",
        data={
            "tenant": slug,
            "username": username,
            "password": PASSWORD,
            "next": "/",
            "_csrf_token": token.group(1),
        },
    )
    assert r.status_code == 303, r.text


async def _time(client: Any, urls: list[str], headers: dict[str, str]) -> list[float]:
    out = []
    for url in urls:
        t0 = time.perf_counter()
        r = await client.get(url, headers=headers)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return out


async def _run(cases: int, tenants: int, requests: int) -> None:
    import asyncpg
    import httpx
    from arq import create_pool

    from core import security
    from core.bootstrap import migrate
    from core.clock import FixedClock
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.domain import identity
    from core.principal import Principal
    from core.redis import arq_settings
    from core.runtime import Runtime
    from core.settings import load_settings
    from core.web.app import create_app

    security.configure_password_hasher(time_cost=1, memory_cost=1024)
    dbname = f"xinfang_bench_pages_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG_ADMIN}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    app_url = f"postgresql://xinfang_bench_app@127.0.0.1:5432/{dbname}"
    admin_url = f"{PG_ADMIN}/{dbname}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                {
                    "XINFANG_DATA_DIR": str(Path(tmp)),
                    "XINFANG_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
                    "DATABASE_URL": app_url,
                    "DATABASE_ADMIN_URL": admin_url,
                    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
                }
            )
            await migrate(settings)
            rt = Runtime.build(settings, clock=FixedClock(datetime.fromisoformat(NOW_TEXT)))
            id_hash = rt.keys.blind_index(
                identity.normalize_for_lookup("id_number", ID_NUMBER), purpose="id_number"
            )
            await _load(admin_url, cases, tenants, security.hash_password(PASSWORD), id_hash)
            engine = make_engine(settings.database)
            bind_engine(engine)
            await open_engine(engine, pool_size=4)
            rt.redis = await create_pool(arq_settings(settings))
            try:
                await _measure(rt, app_url, admin_url, requests, httpx, create_app, Principal)
            finally:
                await rt.redis.aclose()
                await close_engine(engine)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"  kept database {dbname}", flush=True)
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


async def _measure(
    rt: Any,
    app_url: str,
    admin_url: str,
    requests: int,
    httpx: Any,
    create_app: Any,
    principal: Any,
) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        t = await conn.fetchrow("SELECT id, slug FROM tenant ORDER BY id LIMIT 1")
        tid, slug = t["id"], t["slug"]
        n = await conn.fetchval("SELECT count(*) FROM petition_case WHERE tenant_id = $1", tid)
        ids = await conn.fetch(
            "SELECT id FROM petition_case WHERE tenant_id = $1 AND id % 997 = 0 LIMIT $2",
            tid,
            requests,
        )
        oldest = await conn.fetchval(
            "SELECT id FROM petition_case WHERE tenant_id = $1 ORDER BY id LIMIT 1 OFFSET 100",
            tid,
        )
        code = await conn.fetchval(
            "SELECT receipt_code FROM petition_case WHERE tenant_id = $1 ORDER BY id DESC"
            " LIMIT 1 OFFSET 5000",
            tid,
        )
        clerk = await conn.fetchrow(
            "SELECT id, department_id FROM staff_user WHERE tenant_id = $1 AND username = 'clerk'",
            tid,
        )
        dept = await conn.fetchval("SELECT max(id) FROM department WHERE tenant_id = $1", tid)
    finally:
        await conn.close()
    who = principal(
        tid, slug, clerk["id"], "clerk", "clerk用户", frozenset({"clerk"}), clerk["department_id"]
    )
    print(f"  measured tenant: {n:,} matters (of the whole database's)", flush=True)
    filters = {
        "first page": "",
        "status": "status=in_progress",
        "status open": "status=open",
        "channel": "channel=letter",
        "department": f"department={dept}",
        "visit_kind": "visit_kind=repeat",
        "overdue": "overdue=1",
        "due_soon mine": "due_soon=1&mine=1",
        "incoming": "incoming=1",
        "received range": "received_from=2026-03-01&received_to=2026-03-31",
        "q receipt": f"q={code}",
        "q id number": f"q={ID_NUMBER}",
        "q name": "q=张伟",
        "combined": f"status=in_progress&channel=letter&department={dept}",
        "deep keyset": f"after={oldest}",
    }
    await _explain(admin_url, rt, who, tid, filters)

    floor = await _floor(app_url, tid, requests)
    base = statistics.median(floor)
    print(
        f"  floor: raw asyncpg first page (51 rows + visitor join): p50 {base * 1000:.1f} ms,"
        f" p95 {_pct(floor, 95) * 1000:.1f} ms",
        flush=True,
    )
    app = create_app(rt, manage_resources=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 40000))
    html = {"accept": "text/html"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
        await _login(client, slug, "clerk")
        pages = {
            "/ dashboard (clerk)": ["/"],
            "/cases first page": ["/cases"],
            "/cases filtered": [f"/cases?{filters['combined']}"],
            "/cases overdue": ["/cases?overdue=1"],
            "/cases q name": ["/cases?q=%E5%BC%A0%E4%BC%9F"],
            "/cases q receipt": [f"/cases?q={code}"],
            "/cases q ID number": [f"/cases?q={ID_NUMBER}"],
            "/cases deep keyset": [f"/cases?after={oldest}"],
            "/cases/{id}": [f"/cases/{r['id']}" for r in ids],
            "API /api/v1/cases": ["/api/v1/cases"],
        }
        rows = []
        for label, urls in pages.items():
            seq = [urls[i % len(urls)] for i in range(requests)]
            await _time(client, seq[:3], html)  # warm up
            times = await _time(client, seq, html)
            p50, p95 = statistics.median(times), _pct(times, 95)
            rows.append((label, p50, p95))
            print(
                f"  {label:<22} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
                f"  x{p50 / base:5.1f} the floor (p50)",
                flush=True,
            )
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
        await _login(client, slug, "supervisor")
        times = await _time(client, ["/"] * requests, html)
        print(
            f"  {'/ dashboard (supervisor)':<22} p50 {statistics.median(times) * 1000:7.1f} ms"
            f"  p95 {_pct(times, 95) * 1000:7.1f} ms"
            f"  x{statistics.median(times) / base:5.1f} the floor (p50)",
            flush=True,
        )


def main() -> None:
    cases = int(os.environ.get("BENCH_CASES", "1000000"))
    tenants = int(os.environ.get("BENCH_TENANTS", "5"))
    requests = int(os.environ.get("BENCH_REQUESTS", "60"))
    print(
        f"staff pages: {cases:,} matters in {tenants} tenants (PostgreSQL, app role + RLS),"
        f" {requests} requests each through the ASGI app"
    )
    asyncio.run(_run(cases, tenants, requests))


if __name__ == "__main__":
    main()
