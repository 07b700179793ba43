"""Rota generation for 1,000 tenants x 1 year.

1. Pure expansion (core.domain.rota.expand) against a floor measured in the same run: a
   bare loop building the same number of slot dicts.
2. With database writes on PostgreSQL (if reachable): the service path
   (core.services.rota.generation.generate: advisory lock, template + existing keys, expand, bulk
   insert, state update, one transaction per tenant, as the app role under RLS) against
   a floor of asyncpg COPY of the same rows.

Environment: BENCH_ROTA_TENANTS (default 1000), BENCH_ROTA_DB (0 to skip the database
part), XINFANG_TEST_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from core.domain import rota as dr
from core.domain.rota import presets
from core.domain.workcalendar import WorkCalendar
from core.plugins import domain_rota_template
from plugins.court import rota as court_rota

YEAR = 2026
PG_ADMIN = os.environ.get("XINFANG_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432")


def tenant_templates(i: int) -> list[dr.RotaTemplate]:
    """A mix like the seeds: Monday leader day, court Mon–Fri rotation, court daily duty."""
    base = 100 * i
    kind = i % 3
    if kind == 0:
        return [
            presets.monday_leader_day([base + k for k in range(5)], "接待大厅", standby=[base + 9])
        ]
    if kind == 1:
        leaders = [base + k for k in range(5)]
        return [domain_rota_template(court_rota.court_leader_rotation(leaders, "诉讼服务中心"))]
    duty = court_rota.court_daily_duty(
        [base + 1, base + 2, base + 3], [base + 4, base + 5], "立案大厅"
    )
    return [domain_rota_template(t) for t in duty]


def leave_of(i: int) -> dict[int, list[tuple[date, date]]]:
    # Every tenth tenant has a leader away for two weeks in spring.
    if i % 10:
        return {}
    return {100 * i: [(date(YEAR, 4, 6), date(YEAR, 4, 19))]}


def bench_pure(n: int, cal: WorkCalendar) -> tuple[int, float, float]:
    start, end = date(YEAR, 1, 1), date(YEAR, 12, 31)
    work = [(tpl, leave_of(i)) for i in range(n) for tpl in tenant_templates(i)]
    t0 = time.perf_counter()
    total = 0
    for tpl, leave in work:
        res = dr.expand(tpl, cal, start, end, dr.RotaState(year=YEAR), leave)
        total += len(res.slots)
    expand_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    d0 = date(YEAR, 1, 1)
    out = []
    for k in range(total):
        day = d0 + timedelta(days=k % 365)
        out.append(
            {
                "key": f"tpl:{day.isoformat()}:am:0",
                "day": day,
                "half": "am",
                "position": 0,
                "leader_id": k % 5,
                "provisional": False,
                "place": "接待大厅",
            }
        )
    floor_s = time.perf_counter() - t0
    return total, expand_s, floor_s


async def bench_db(n: int) -> None:
    import asyncpg

    from core.bootstrap import migrate
    from core.clock import FixedClock
    from core.db.engine import bind_engine, close_engine, make_engine, open_engine
    from core.runtime import Runtime
    from core.services.calendar import load_calendar
    from core.services.rota.generation import generate
    from core.services.scope import Scope
    from core.settings import TIMEZONE, load_settings

    dbname = f"xinfang_bench_rota_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG_ADMIN}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    await admin.close()
    tmp = Path(tempfile.mkdtemp(prefix="bench-rota-"))
    settings = load_settings(
        {
            "XINFANG_DATA_DIR": str(tmp),
            "XINFANG_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
            "DATABASE_URL": f"postgresql://xinfang_bench_app@127.0.0.1:5432/{dbname}",
            "DATABASE_ADMIN_URL": f"{PG_ADMIN}/{dbname}",
            "REDIS_URL": "redis://127.0.0.1:6379/9",
        }
    )
    owner = None
    engine = None
    try:
        await migrate(settings)
        owner = await asyncpg.connect(f"{PG_ADMIN}/{dbname}")
        now = datetime(YEAR, 1, 1, 8, tzinfo=TIMEZONE)
        tenants = [
            (r["id"], r["slug"])
            for r in await owner.fetch(
                "INSERT INTO tenant (slug, name, rule_pack, timezone, settings, active, created_at)"
                " SELECT 'b' || g, 'bench ' || g, 'cn-2022', 'Asia/Shanghai', '{}', true, $1"
                " FROM generate_series(1, $2) g RETURNING id, slug",
                now,
                n,
            )
        ]
        tenant_ids = [tid for tid, _ in tenants]
        rows = []
        for i, tid in enumerate(tenant_ids):
            for tpl in tenant_templates(i):
                config = {
                    "title_zh": tpl.title_zh,
                    "role": tpl.role,
                    "pattern": tpl.pattern,
                    "weekdays": sorted(tpl.weekdays),
                    "slots": [
                        {"half": s.half, "start": f"{s.start:%H:%M}", "end": f"{s.end:%H:%M}"}
                        for s in tpl.slots
                    ],
                    "place": tpl.place,
                    "topics": list(tpl.topics),
                    "leaders": list(tpl.leaders),
                    "standby": list(tpl.standby),
                    "leaders_per_slot": 1,
                    "same_leader_whole_day": True,
                }
                rows.append(
                    (tid, tpl.key, tpl.title_zh, json.dumps(config), tpl.holiday_policy,
                     tpl.makeup_workdays, 52, "{}", True, now, now)
                )  # fmt: skip
        await owner.copy_records_to_table(
            "rota_template",
            records=rows,
            columns=[
                "tenant_id", "key", "title", "config", "holiday_policy", "makeup_workdays",
                "horizon_weeks", "state", "active", "created_at", "updated_at",
            ],
        )  # fmt: skip
        for i, tid in enumerate(tenant_ids):
            for uid, ranges in leave_of(i).items():
                for a, b in ranges:
                    await owner.execute(
                        "INSERT INTO leader_leave (tenant_id, user_id, first_day, last_day,"
                        " reason, created_at) VALUES ($1, $2, $3, $4, '', $5)",
                        tid,
                        uid,
                        a,
                        b,
                        now,
                    )

        rt = Runtime.build(settings, clock=FixedClock(now))
        engine = make_engine(settings.database)
        bind_engine(engine)
        await open_engine(engine, pool_size=4)
        cal = await load_calendar()
        t0 = time.perf_counter()
        created = 0
        for tid, slug in tenants:
            created += (await generate(Scope.system(rt, tid, slug), calendar=cal)).created
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = 0
        for tid, slug in tenants:
            again += (await generate(Scope.system(rt, tid, slug), calendar=cal)).created
        rerun_s = time.perf_counter() - t0

        cols = [
            "tenant_id", "template_id", "slot_key", "uid_key", "day", "original_day", "half",
            "position", "starts_at", "ends_at", "place", "topics", "role", "title", "leader_id",
            "standby_used", "provisional", "status", "sequence", "note", "created_at",
            "updated_at",
        ]  # fmt: skip
        stored = await owner.fetch(f"SELECT {', '.join(cols)} FROM rota_slot")
        await owner.execute("CREATE TABLE rota_slot_floor (LIKE rota_slot INCLUDING ALL)")
        records = [tuple(r) for r in stored]
        t0 = time.perf_counter()
        await owner.copy_records_to_table("rota_slot_floor", records=records, columns=cols)
        copy_s = time.perf_counter() - t0

        print(
            f"db generate (service, PostgreSQL, app role + RLS): {n} tenants, "
            f"{len(rows)} templates, {created} slots in {gen_s:.2f} s "
            f"({created / gen_s:,.0f} slots/s, {gen_s / n * 1000:.1f} ms/tenant)"
        )
        print(
            f"db floor (asyncpg COPY of the same {len(records)} rows): {copy_s:.2f} s "
            f"({len(records) / copy_s:,.0f} rows/s) -> service/floor = {gen_s / copy_s:.1f}x"
        )
        print(
            f"db re-run (idempotent, {again} created): {rerun_s:.2f} s "
            f"({rerun_s / n * 1000:.1f} ms/tenant)"
        )
    finally:
        if engine is not None:
            await close_engine(engine)
        if owner is not None:
            await owner.close()
        admin = await asyncpg.connect(f"{PG_ADMIN}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    n = int(os.environ.get("BENCH_ROTA_TENANTS", "1000"))
    cal = WorkCalendar.from_chinese_calendar(range(YEAR - 1, YEAR + 1))
    total, expand_s, floor_s = bench_pure(n, cal)
    print(
        f"pure expand: {n} tenants x {YEAR}, {total} slots in {expand_s:.2f} s "
        f"({total / expand_s:,.0f} slots/s, {expand_s / n * 1000:.2f} ms/tenant)"
    )
    print(
        f"pure floor (bare loop, {total} slot dicts): {floor_s:.2f} s "
        f"-> expand/floor = {expand_s / floor_s:.1f}x"
    )
    if os.environ.get("BENCH_ROTA_DB", "1") != "0":
        try:
            asyncio.run(bench_db(n))
        except OSError as exc:
            print(f"db part skipped: PostgreSQL not reachable ({exc})")


if __name__ == "__main__":
    main()
