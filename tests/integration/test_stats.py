"""GET /api/v1/stats on both engines: matters registered and handled through the API on
fixed days, the expected figures worked out by hand below (docs/metrics.md defines
each); another organization's matters and matters outside the period never counted;
bad periods and filters refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import valid_id_number
from tests.integration.test_lifecycle import START, act, register

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=TIMEZONE)


def person(seq: int, name: str) -> dict[str, Any]:
    return {"name": name, "id_number": valid_id_number(seq=seq), "phone": f"139000{seq:05d}"}


async def stats(client: Any, t: Any, query: str, status: int = 200) -> dict[str, Any]:
    r = await client.get(f"/api/v1/stats?{query}", headers=t.headers("clerk"))
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def fresh_tokens(rt: Any, *tenants: Any) -> None:
    """API tokens live 90 days: new ones at the clock's time for the months ahead."""
    from core.services import users

    for t in tenants:
        for role, user in t.users.items():
            t.tokens[role] = (await users.create_token(t.scope(rt), user["id"], name="t")).token


CLOSE = {"opinion": "support", "opinion_text": "支持诉求，已处理"}


async def build(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> tuple[Any, Any, dict[str, int]]:
    """Six matters in September–October 2026, one in November, one of another tenant."""
    a = await make_tenant()
    b = await make_tenant()
    ids: dict[str, int] = {}

    clock.set(at(9, 16))
    # 1: 李四 (the default visitor), visit, accepted 09-16, closed 09-26 → 10 days, on time.
    ids["c1"] = (await register(client, a))["id"]
    await act(client, a, ids["c1"], "accept", "clerk")
    # 2: answered on the spot (一次性办结), letter.
    ids["c2"] = (
        await register(
            client,
            a,
            channel="letter",
            visitor=person(402, "王五"),
            cause="咨询供暖缴费时间",
            answered_on_spot="已告知每年 11 月 5 日前缴费",
        )
    )["id"]
    # Another organization's matter on the same day: never counted for a.
    other = await register(client, b, headcount=9, representatives=[{"name": "代表甲"}])
    await act(client, b, other["id"], "accept", "clerk")

    clock.set(at(9, 17))
    # 3: a group visit of 6 (集体访), accepted 09-17 → handle due 11-16; left open: overdue.
    ids["c3"] = (
        await register(
            client,
            a,
            visitor=person(403, "赵六"),
            headcount=6,
            representatives=[{"name": "代表一"}, {"name": "代表二"}],
            cause="小区电梯长期停运无人维修",
            category="general",
        )
    )["id"]
    c3 = await act(client, a, ids["c3"], "accept", "clerk")
    assert [d["due"] for d in c3["deadlines"] if d["clock"] == "handle"] == ["2026-11-16"]

    clock.set(at(9, 26))
    await act(client, a, ids["c1"], "close", "supervisor", **CLOSE)

    clock.set(at(10, 10))
    # 4: 李四 again on the same matter (重复访), phone; not accepted (诉讼途径).
    c4 = await register(client, a, channel="phone")
    assert c4["visit_kind"] == "repeat", c4
    ids["c4"] = c4["id"]
    await act(client, a, ids["c4"], "not_accept", "clerk", channel="litigation", reason="已起诉")

    clock.set(at(10, 12))
    # 5: online, accepted 10-12 → handle due 12-11; extended 10 days → 12-21; closed 12-18.
    ids["c5"] = (
        await register(
            client, a, channel="online", visitor=person(405, "钱七"), cause="路灯损坏夜间无照明"
        )
    )["id"]
    c5 = await act(client, a, ids["c5"], "accept", "clerk")
    assert [d["due"] for d in c5["deadlines"] if d["clock"] == "handle"] == ["2026-12-11"]
    handler = a.users["handler"]["id"]
    await act(client, a, ids["c5"], "start_handling", "clerk", handler_id=handler)
    await act(client, a, ids["c5"], "request_extension", "handler", days=10, reason="需检测")
    c5 = await act(client, a, ids["c5"], "approve_extension", "leader")
    assert [d["due"] for d in c5["deadlines"] if d["clock"] == "extension"] == ["2026-12-21"]

    clock.set(at(10, 20))
    # 6: visit, department "handling", accepted 10-20 → due 12-19 (Sat) → 12-21; closed
    # 12-23: late.
    ids["c6"] = (
        await register(
            client,
            a,
            visitor=person(406, "孙八"),
            cause="物业费收费标准不透明",
            department_id=a.departments["handling"],
        )
    )["id"]
    c6 = await act(client, a, ids["c6"], "accept", "clerk")
    assert [d["due"] for d in c6["deadlines"] if d["clock"] == "handle"] == ["2026-12-21"]

    clock.set(at(11, 2))
    # 7: outside the period (registered in November).
    ids["c7"] = (
        await register(client, a, visitor=person(407, "周九"), cause="噪音扰民", channel="visit")
    )["id"]

    clock.set(at(12, 18))
    await fresh_tokens(rt, a, b)
    await act(client, a, ids["c5"], "close", "supervisor", **CLOSE)
    clock.set(at(12, 23))
    await act(client, a, ids["c6"], "close", "supervisor", **CLOSE)

    clock.set(at(12, 28))
    await act(client, a, ids["c1"], "follow_up", "clerk", note="电话回访", satisfaction="satisfied")
    await act(
        client, a, ids["c2"], "follow_up", "clerk", note="回访", satisfaction="basically_satisfied"
    )
    await act(client, a, ids["c6"], "follow_up", "clerk", note="回访", satisfaction="unsatisfied")
    return a, b, ids


async def test_figures_worked_out_by_hand(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    a, b, _ = await build(rt, client, make_tenant, clock)
    clock.set(at(4, 15, 2027))
    await fresh_tokens(rt, a, b)  # the 息访 window (6 months) of 09-16 and 09-26 has passed
    s = await stats(client, a, "from=2026-09-01&to=2026-10-31")

    assert s["period_from"] == "2026-09-01" and s["period_to"] == "2026-10-31"
    assert s["batches"] == 6  # matters 1–6; 7 was registered in November
    assert s["persons"] == 1 + 1 + 6 + 1 + 1 + 1  # = 11 (matter 3 is six people)
    assert s["group_batches"] == 1  # matter 3
    assert s["first_contact_closed"] == 1  # matter 2
    assert s["repeat_batches"] == 1  # matter 4
    assert s["not_accepted"] == 1  # matter 4
    assert s["accepted"] == 4  # matters 1, 3, 5, 6
    assert s["closed"] == 4  # matters 1, 2, 5, 6
    assert s["closed_on_time"] == 3  # 1 (09-26 ≤ 11-16), 2 (at once), 5 (12-18 ≤ 12-21)
    assert s["overdue_open"] == 1  # matter 3: handle due 2026-11-16 still running
    assert s["rates"] == {
        "closure_rate": 4 / (4 + 1),  # closed / (accepted + first contact) = 0.8
        "on_time_rate": 3 / 4,
        "first_contact_rate": 1 / 6,
        "repeat_rate": 1 / 6,
    }
    # 1: 09-16 → 09-26 = 10; 5: 10-12 → 12-18 = 20 + 30 + 17 = 67 (Oct 12→31: 19 days,
    # Nov: 30, Dec 1→18: 18 → 67); 6: 10-20 → 12-23 = 11 + 30 + 23 = 64. (10+67+64)/3 = 47.
    assert s["avg_handling_days"] == 47.0
    assert s["satisfaction"] == {
        "followed_up": 3,
        "satisfied": 1,
        "basically_satisfied": 1,
        "unsatisfied": 1,
        "rate": 2 / 3,
    }
    # Closed and 6 months passed by 2027-04-15: 1 (→ 2027-03-26) and 2 (→ 2027-03-16);
    # 5 and 6 (closed in December) cannot be judged yet. 李四 came back (matter 4, 10-10)
    # within 1's window, 王五 did not: 1 of 2.
    assert s["settled"] == {"months": 6, "eligible": 2, "settled": 1, "rate": 0.5}

    by_month = {r["key"]: (r["batches"], r["persons"]) for r in s["by_month"]}
    assert by_month == {"2026-09": (3, 8), "2026-10": (3, 3)}
    by_channel = {r["key"]: r["batches"] for r in s["by_channel"]}
    assert by_channel == {"letter": 1, "visit": 3, "phone": 1, "online": 1}
    assert [r["label"] for r in s["by_channel"]] == ["来信", "来访", "来电", "网上"]
    by_dept = {
        r["label"]: (r["batches"], r["closed"], r["closed_on_time"]) for r in s["by_department"]
    }
    assert by_dept == {"未分派部门": (5, 3, 3), "handling": (1, 1, 0)}
    assert [(r["key"], r["batches"]) for r in s["by_category"]] == [("general", 6)]

    # A 1-month window: every closed matter's window has passed; 李四 came back within
    # 1's (09-26 → 10-26), 王五, 钱七 and 孙八 did not: 3 of 4.
    assert (await stats(client, a, "from=2026-09-01&to=2026-10-31&settle_months=1"))["settled"] == {
        "months": 1,
        "eligible": 4,
        "settled": 3,
        "rate": 0.75,
    }

    # The other organization sees only its own group visit of 9.
    sb = await stats(client, b, "from=2026-09-01&to=2026-10-31")
    assert (sb["batches"], sb["persons"], sb["accepted"]) == (1, 9, 1)

    # Filters: channel, department, category; the November matter with a wider period.
    visit = await stats(client, a, "from=2026-09-01&to=2026-10-31&channel=visit")
    assert (visit["batches"], visit["persons"], visit["closed"]) == (3, 8, 2)  # 1, 3, 6
    dept = await stats(
        client, a, f"from=2026-09-01&to=2026-10-31&department_id={a.departments['handling']}"
    )
    assert (dept["batches"], dept["closed"], dept["closed_on_time"]) == (1, 1, 0)
    assert dept["rates"]["on_time_rate"] == 0.0 and dept["rates"]["repeat_rate"] == 0.0
    none = await stats(client, a, "from=2026-09-01&to=2026-10-31&category=heating")
    assert none["batches"] == 0 and none["rates"]["closure_rate"] is None
    assert none["avg_handling_days"] is None and none["satisfaction"]["rate"] is None
    wide = await stats(client, a, "from=2026-09-01&to=2026-11-30")
    assert wide["batches"] == 7 and [r["key"] for r in wide["by_month"]] == [
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    # Shanghai days: 2026-09-16 10:00 (02:00 UTC) is in a period of that one day.
    one = await stats(client, a, "from=2026-09-16&to=2026-09-16")
    assert one["batches"] == 2


async def test_another_tenants_department_is_not_found(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    r = await client.get(
        f"/api/v1/stats?department_id={b.departments['handling']}", headers=a.headers("clerk")
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["field"] == "department_id"


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("from=2026-13-01&to=2026-12-31", "from", "invalid_date"),
        ("from=2026-01-01&to=20261231", "to", "invalid_date"),
        ("from=2026-12-01&to=2026-11-30", "from", "invalid_period"),
        ("from=2020-01-01&to=2026-11-30", "to", "period_too_long"),
        ("channel=fax", "channel", "invalid_choice"),
    ],
)
async def test_bad_periods_are_refused_naming_the_field(
    client: Any, make_tenant: Any, clock: FixedClock, query: str, field: str, code: str
) -> None:
    a = await make_tenant()
    err = (await stats(client, a, query, 400))["error"]
    assert (err["field"], err["code"]) == (field, code)


async def test_default_period_is_the_last_twelve_months(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    a = await make_tenant()  # clock: 2026-09-16
    s = await stats(client, a, "")
    assert (s["period_from"], s["period_to"]) == ("2025-10-01", "2026-09-16")
    assert len(s["by_month"]) == 12 and s["batches"] == 0
    assert (await client.get("/api/v1/stats")).status_code == 401


async def test_the_accused_do_not_count_the_accusation(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """检举控告 in which the caller is accused is absent from their counts (Art 30), as it
    is from their lists; a colleague counts it."""
    from tests.integration.test_repeats_and_accused import staff

    t = await make_tenant()
    accused, as_accused = await staff(
        client, rt, t, "clerk2", ["clerk"], department_id=t.departments["petition"]
    )
    await register(client, t)  # an ordinary matter of one person
    await register(
        client,
        t,
        visitor=person(601, "吴十"),
        headcount=6,
        representatives=[{"name": "代表"}],
        legal_category="accusation",
        purpose="accusation",
        accused={"user_ids": [accused["id"]]},
        cause="接访人员索要好处费",
    )
    query = "/api/v1/stats?from=2026-09-16&to=2026-09-16"
    colleague = (await client.get(query, headers=t.headers("clerk"))).json()
    assert (colleague["batches"], colleague["persons"], colleague["group_batches"]) == (2, 7, 1)
    mine = await client.get(query, headers=as_accused)
    assert mine.status_code == 200, mine.text
    s = mine.json()
    assert (s["batches"], s["persons"], s["group_batches"]) == (1, 1, 0)
    assert sum(b["batches"] for b in s["by_department"]) == 1
