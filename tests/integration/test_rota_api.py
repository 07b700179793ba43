"""The leader reception rota end to end through the API, on SQLite and PostgreSQL:
templates, generation (idempotent, no drift, holidays, make-up Saturdays, leave and
standby, balance), publishing, swaps, overrides, feeds, reminders, calendar import."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import PASSWORD, TenantFixture

pytestmark = pytest.mark.asyncio

API = "/api/v1/rota"


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TIMEZONE)


@pytest.fixture
async def clock(rt: Any) -> AsyncIterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(at(2026, 9, 20))  # a Sunday
    yield rt.clock
    rt.clock = saved


async def add_leaders(rt: Any, t: TenantFixture, n: int, prefix: str = "ld") -> list[int]:
    from core.services import users

    ids = [t.users["leader"]["id"]]
    for i in range(n - 1):
        u = await users.create_user(
            t.scope(rt),
            username=f"{prefix}{i}",
            display_name=f"领导{prefix}{i}",
            password=PASSWORD,
            roles=["leader"],
        )
        ids.append(u.id)
    return ids


async def leader_token(rt: Any, t: TenantFixture, user_id: int) -> dict[str, str]:
    from core.services import users

    token = (await users.create_token(t.scope(rt), user_id, name="t")).token
    return {"Authorization": f"Bearer {token}"}


def monday_body(leaders: list[int], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "monday",
        "title_zh": "领导信访接待日",
        "pattern": "weekly",
        "weekdays": [0],
        "place": "一楼接待大厅",
        "topics": ["供热", "物业"],
        "leaders": leaders,
        "holiday_policy": "next_workday",
    }
    body.update(over)
    return body


async def setup_rota(
    client: Any, t: TenantFixture, body: dict[str, Any], *, generate: bool = True
) -> list[dict[str, Any]]:
    r = await client.post(f"{API}/templates", json=body, headers=t.headers("admin"))
    assert r.status_code == 201, r.text
    if generate:
        r = await client.post(f"{API}/generate", headers=t.headers("admin"))
        assert r.status_code == 200, r.text
    return (await client.get(f"{API}/slots", headers=t.headers("clerk"))).json()


async def outbox(rt: Any, t: TenantFixture, kind: str | None = None) -> list[dict[str, Any]]:
    from core.db.engine import tenant_tx
    from core.db.tables import Outbox

    async with tenant_tx(t.id, write=False):
        q = Outbox.select().where(Outbox.tenant_id == t.id)
        if kind:
            q = q.where(Outbox.kind == kind)
        return await q.order_by(Outbox.id).output(load_json=True)


def vevents(ics: str) -> list[dict[str, str]]:
    events, cur = [], None
    for line in ics.replace("\r\n ", "").split("\r\n"):
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT":
            events.append(cur)
            cur = None
        elif cur is not None and ":" in line:
            k, v = line.split(":", 1)
            cur[k.split(";")[0]] = v
    return events  # type: ignore[return-value]


# --- templates ---------------------------------------------------------------------------


async def test_template_is_validated_and_admin_only(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    r = await client.post(f"{API}/templates", json=monday_body(leaders), headers=t.headers("clerk"))
    assert r.status_code == 403
    bad = monday_body(leaders, slots=[{"half": "am", "start": "11:30", "end": "08:30"}])
    r = await client.post(f"{API}/templates", json=bad, headers=t.headers("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "slot_end_not_after_start"
    assert r.json()["error"]["field"] == "slots[0].end"
    clerk = t.users["clerk"]["id"]
    r = await client.post(
        f"{API}/templates", json=monday_body([*leaders, clerk]), headers=t.headers("admin")
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_leader")
    other = await make_tenant()
    r = await client.post(
        f"{API}/templates",
        json=monday_body([other.users["leader"]["id"]]),
        headers=t.headers("admin"),
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "leaders")
    r = await client.post(f"{API}/templates", json=monday_body(leaders), headers=t.headers("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["slots"][0] == {"half": "am", "start": "08:30", "end": "11:30"}
    r = await client.post(f"{API}/templates", json=monday_body(leaders), headers=t.headers("admin"))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "rota_key_taken")


# --- generation --------------------------------------------------------------------------


async def test_generation_is_idempotent_moves_holidays_and_rotates_in_order(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 5)
    slots = await setup_rota(client, t, monday_body(leaders))
    days = sorted({s["day"] for s in slots})
    assert days == [
        "2026-09-21",
        "2026-09-28",
        "2026-10-08",  # Monday 10-05 is National Day holiday → next working day
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
    ]
    assert len(slots) == 16 and {s["status"] for s in slots} == {"draft"}
    moved = [s for s in slots if s["day"] == "2026-10-08"]
    assert moved[0]["original_day"] == "2026-10-05" and "顺延至 2026-10-08" in moved[0]["note"]
    by_day = {d: {s["leader_id"] for s in slots if s["day"] == d} for d in days}
    assert all(len(v) == 1 for v in by_day.values())  # am and pm: the same leader
    order = [next(iter(by_day[d])) for d in days]
    assert order == [*leaders, *leaders[:3]]

    again = await client.post(f"{API}/generate", headers=t.headers("admin"))
    assert again.json() == {"created": 0, "unfilled": 0}
    state = (await client.get(f"{API}/templates", headers=t.headers("admin"))).json()[0]["state"]
    assert state["cursor"] == 3

    # A week later the horizon grows by one Monday, continuing the rotation (no drift).
    clock.set(at(2026, 9, 27))
    r = await client.post(f"{API}/generate", headers=t.headers("admin"))
    assert r.json()["created"] == 2
    newest = (
        await client.get(f"{API}/slots", params={"start": "2026-11-16"}, headers=t.headers("clerk"))
    ).json()
    assert {s["leader_id"] for s in newest} == {leaders[3]}


async def test_skip_policy_skips_the_holiday_without_consuming_a_turn(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 3)
    slots = await setup_rota(client, t, monday_body(leaders, holiday_policy="skip"))
    days = sorted({s["day"] for s in slots})
    assert "2026-10-05" not in days and "2026-10-08" not in days and len(days) == 7
    order = [next(s["leader_id"] for s in slots if s["day"] == d) for d in days]
    assert order == [leaders[i % 3] for i in range(7)]


@pytest.mark.parametrize("makeup", [True, False])
async def test_every_workday_rota_carries_makeup_saturday_only_when_set(
    client: Any, make_tenant: Any, rt: Any, clock: Any, makeup: bool
) -> None:
    clock.set(at(2026, 10, 5))
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    body = {
        "key": "filing",
        "title_zh": "立案庭领导每日接访",
        "role": "filing_duty",
        "pattern": "every_workday",
        "leaders": leaders,
        "makeup_workdays": makeup,
        "horizon_weeks": 1,
    }
    slots = await setup_rota(client, t, body)
    days = sorted({s["day"] for s in slots})
    expected = ["2026-10-08", "2026-10-09", "2026-10-12"]
    if makeup:
        expected.insert(2, "2026-10-10")  # 调休上班 Saturday
    assert days == expected
    assert {s["role"] for s in slots} == {"filing_duty"}


async def test_counts_stay_balanced_over_a_year(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    clock.set(at(2026, 1, 1))
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 3)
    body = {
        "key": "duty",
        "title_zh": "每日值班",
        "pattern": "every_workday",
        "leaders": leaders,
        "slots": [{"half": "am", "start": "08:30", "end": "11:30"}],
        "horizon_weeks": 52,
    }
    slots = await setup_rota(client, t, body)
    per = Counter(s["leader_id"] for s in slots if s["day"] <= "2026-12-31")
    assert set(per) == set(leaders)
    assert max(per.values()) - min(per.values()) <= 1
    assert sum(per.values()) == len({s["day"] for s in slots if s["day"] <= "2026-12-31"})


async def test_leave_is_respected_and_standby_covers(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    from core.services import users

    standby = (
        await users.create_user(
            t.scope(rt),
            username="standby",
            display_name="备班",
            password=PASSWORD,
            roles=["leader"],
        )
    ).id
    # Both rotation leaders away on Monday 09-28; leader 0 also on 10-12.
    for uid, first, last in (
        (leaders[0], "2026-09-28", "2026-09-28"),
        (leaders[1], "2026-09-28", "2026-09-28"),
        (leaders[0], "2026-10-12", "2026-10-12"),
    ):
        r = await client.post(
            f"{API}/leave",
            json={"user_id": uid, "first_day": first, "last_day": last, "reason": "出差"},
            headers=t.headers("admin"),
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        f"{API}/leave",
        json={"user_id": leaders[1], "first_day": "2026-11-02", "last_day": "2026-11-01"},
        headers=t.headers("admin"),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "leave_range_reversed")
    r = await client.post(
        f"{API}/leave",
        json={"user_id": leaders[1], "first_day": "2026-11-02", "last_day": "2026-11-02"},
        headers=t.headers("clerk"),
    )
    assert r.status_code == 403

    slots = await setup_rota(client, t, monday_body(leaders, standby=[standby]))
    who = {s["day"]: (s["leader_id"], s["standby_used"]) for s in slots if s["half"] == "am"}
    assert who["2026-09-21"] == (leaders[0], False)
    assert who["2026-09-28"] == (standby, True)
    assert who["2026-10-08"] == (leaders[1], False)
    assert who["2026-10-12"] == (leaders[1], False)  # leader 0 away
    assert who["2026-10-19"] == (leaders[0], False)  # and takes the next Monday

    # Leave recorded after generation: the draft goes to the standby.
    r = await client.post(
        f"{API}/leave",
        json={"first_day": "2026-10-26", "last_day": "2026-10-26"},
        headers=await leader_token(rt, t, who["2026-10-26"][0]),
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["reassigned"]) == 2 and r.json()["conflicts"] == []
    day = (
        await client.get(
            f"{API}/slots",
            params={"start": "2026-10-26", "end": "2026-10-26"},
            headers=t.headers("clerk"),
        )
    ).json()
    assert {(s["leader_id"], s["standby_used"]) for s in day} == {(standby, True)}


async def test_rerun_leaves_a_position_unfilled_rather_than_doubling_its_other_holder(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    """Two leaders a slot, one away: the other takes position 0, position 1 stays unfilled
    on the hourly rerun too (not the same leader twice in one half)."""
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    r = await client.post(
        f"{API}/leave",
        json={"user_id": leaders[0], "first_day": "2026-09-28", "last_day": "2026-09-28"},
        headers=t.headers("admin"),
    )
    assert r.status_code == 201, r.text
    body = monday_body(leaders, leaders_per_slot=2, same_leader_whole_day=False)
    r = await client.post(f"{API}/templates", json=body, headers=t.headers("admin"))
    assert r.status_code == 201, r.text
    for _ in range(2):
        r = await client.post(f"{API}/generate", headers=t.headers("admin"))
        assert r.json()["unfilled"] == 2, r.text  # 09-28, position 1, am and pm
    assert r.json()["created"] == 0
    day = (
        await client.get(
            f"{API}/slots",
            params={"start": "2026-09-28", "end": "2026-09-28"},
            headers=t.headers("clerk"),
        )
    ).json()
    assert sorted((s["half"], s["position"], s["leader_id"]) for s in day) == [
        ("am", 0, leaders[1]),
        ("pm", 0, leaders[1]),
    ]


# --- publishing, swaps, overrides, feeds, reminders --------------------------------------


async def test_publish_freezes_and_swaps_overrides_feeds_reminders(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 3)
    h = [await leader_token(rt, t, uid) for uid in leaders]
    await setup_rota(client, t, monday_body(leaders, horizon_weeks=2))

    # Drafts are not public.
    pub = await client.get(f"/t/{t.slug}/schedule.json")
    assert pub.status_code == 200 and pub.json()["slots"] == []
    assert (await client.get("/t/no-such-tenant/schedule.json")).status_code == 404
    assert (await client.get("/t/no-such-tenant/schedule.ics")).status_code == 404

    r = await client.post(f"{API}/publish", json={}, headers=t.headers("clerk"))
    assert r.status_code == 403
    r = await client.post(f"{API}/publish", json={}, headers=t.headers("admin"))
    assert r.json() == {"published": 4}
    assert (await client.post(f"{API}/publish", json={}, headers=t.headers("admin"))).json() == {
        "published": 0
    }
    published = await outbox(rt, t, "rota.published")
    assert sorted(o["recipient_id"] for o in published) == sorted(leaders[:2])
    assert "2026-09-21" in published[0]["payload"]["body"]

    slots = (await client.get(f"{API}/slots", headers=t.headers("clerk"))).json()
    assert all(s["session_id"] for s in slots)
    sessions = (await client.get("/api/v1/sessions", headers=t.headers("clerk"))).json()
    assert {s["status"] for s in sessions} == {"published"} and len(sessions) == 4

    pub = (await client.get(f"/t/{t.slug}/schedule.json")).json()
    assert [s["day"] for s in pub["slots"]] == ["2026-09-21"] * 2 + ["2026-09-28"] * 2
    assert pub["slots"][0]["leader"]["name"] == "leader-user"
    assert pub["slots"][0]["topics"] == ["供热", "物业"]

    # Leader 1's private feed.
    r = await client.post(f"{API}/feed-token", headers=h[1])
    assert r.status_code == 201
    feed = r.json()["path"]
    assert (await client.post(f"{API}/feed-token", headers=t.headers("clerk"))).status_code == 403
    ics = await client.get(feed)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    mine = vevents(ics.text)
    assert len(mine) == 2 and {e["STATUS"] for e in mine} == {"CONFIRMED"}
    assert {e["SEQUENCE"] for e in mine} == {"0"}
    assert (await client.get(f"/t/{t.slug}/leaders/wrong-token.ics")).status_code == 404
    assert (await client.get(feed.replace(t.slug, "no-such-tenant"))).status_code == 404

    # Swap: leader 1 asks to hand 09-28 am to leader 2; only their own slot; admin approves.
    s28 = next(s for s in slots if s["day"] == "2026-09-28" and s["half"] == "am")
    s21 = next(s for s in slots if s["day"] == "2026-09-21" and s["half"] == "am")
    body = {"to_leader_id": leaders[2], "reason": "参加会议"}
    r = await client.post(f"{API}/slots/{s21['id']}/swap", json=body, headers=h[1])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_slot")
    r = await client.post(f"{API}/slots/{s28['id']}/swap", json=body, headers=h[1])
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["status"] == "requested"
    r = await client.post(f"{API}/changes/{change['id']}/approve", headers=h[2])
    assert r.status_code == 403
    r = await client.post(f"{API}/changes/{change['id']}/approve", headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await client.post(f"{API}/changes/{change['id']}/approve", headers=t.headers("admin"))
    assert r.status_code == 409
    after = (
        await client.get(f"{API}/slots", params={"start": "2026-09-28"}, headers=t.headers("clerk"))
    ).json()
    am = next(s for s in after if s["half"] == "am")
    assert (am["leader_id"], am["sequence"]) == (leaders[2], 1)
    session = (await client.get(f"/api/v1/sessions/{am['session_id']}", headers=h[2])).json()
    assert (session["leader_id"], session["sequence"]) == (leaders[2], 1)
    changed = await outbox(rt, t, "rota.changed")
    assert sorted(o["recipient_id"] for o in changed) == sorted([leaders[1], leaders[2]])

    # Old leader's feed: the swapped slot is CANCELLED with the bumped SEQUENCE, same UID.
    mine2 = {e["UID"]: e for e in vevents((await client.get(feed)).text)}
    assert len(mine2) == 2
    cancelled = [e for e in mine2.values() if e["STATUS"] == "CANCELLED"]
    assert len(cancelled) == 1 and cancelled[0]["SEQUENCE"] == "1"
    assert set(mine2) == {e["UID"] for e in mine}

    # Override: admin cancels 09-28 pm; public ics keeps it as CANCELLED, json drops it.
    pm = next(s for s in after if s["half"] == "pm")
    r = await client.post(
        f"{API}/slots/{pm['id']}/override", json={"reason": "临时停电"}, headers=t.headers("admin")
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "override_needs_one_action")
    r = await client.post(
        f"{API}/slots/{pm['id']}/override",
        json={"reason": "临时停电", "cancel": True},
        headers=t.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["sequence"]) == ("cancelled", 1)
    public = {
        (e["DTSTART"], e["STATUS"], e["SEQUENCE"])
        for e in vevents((await client.get(f"/t/{t.slug}/schedule.ics")).text)
    }
    assert ("20260928T143000", "CANCELLED", "1") in public
    assert ("20260928T083000", "CONFIRMED", "1") in public
    assert len(public) == 4
    pub = (await client.get(f"/t/{t.slug}/schedule.json")).json()
    assert len(pub["slots"]) == 3
    changes = (await client.get(f"{API}/changes", headers=t.headers("admin"))).json()
    assert [(c["kind"], c["status"]) for c in changes] == [
        ("swap", "approved"),
        ("override", "applied"),
    ]
    assert changes[1]["decided_by"] == t.users["admin"]["id"] and changes[1]["reason"] == "临时停电"

    # Revoke: the private feed URL stops working.
    r = await client.delete(f"{API}/feed-token", headers=h[1])
    assert r.json() == {"revoked": 1}
    assert (await client.get(feed)).status_code == 404

    # Reminders: the evening before and the morning of, each written once.
    clock.set(at(2026, 9, 20, 16, 5))
    from core.services.rota.reminders import write_reminders

    sc = t.scope(rt)
    assert await write_reminders(sc) == 2
    assert await write_reminders(sc) == 2  # re-run: same dedupe keys
    clock.set(at(2026, 9, 21, 7, 40))
    await write_reminders(sc)
    await write_reminders(sc)
    reminders = await outbox(rt, t, "rota.reminder")
    assert len(reminders) == 4
    assert {o["recipient_id"] for o in reminders} == {leaders[0]}
    assert (
        sorted(o["payload"]["title"] for o in reminders)
        == ["今日接访提醒"] * 2 + ["明日接访提醒"] * 2
    )
    clock.set(at(2026, 9, 27, 18))
    await write_reminders(sc)
    eve28 = [o for o in await outbox(rt, t, "rota.reminder") if o["recipient_id"] != leaders[0]]
    assert [o["recipient_id"] for o in eve28] == [leaders[2]]  # the swapped-in leader only


async def test_published_slot_on_leave_is_a_conflict_not_a_silent_change(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    await setup_rota(client, t, monday_body(leaders, horizon_weeks=1))
    await client.post(f"{API}/publish", json={}, headers=t.headers("admin"))
    r = await client.post(
        f"{API}/leave",
        json={"first_day": "2026-09-21", "last_day": "2026-09-21"},
        headers=t.headers("leader"),
    )
    assert r.status_code == 201 and len(r.json()["conflicts"]) == 2
    slots = (await client.get(f"{API}/slots", headers=t.headers("clerk"))).json()
    assert {(s["leader_id"], s["sequence"]) for s in slots} == {(leaders[0], 0)}


async def test_other_tenants_slots_are_not_found(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    a, b = await make_tenant(), await make_tenant()
    leaders = await add_leaders(rt, a, 2)
    slots = await setup_rota(client, a, monday_body(leaders, horizon_weeks=1))
    await client.post(f"{API}/publish", json={}, headers=a.headers("admin"))
    r = await client.post(
        f"{API}/slots/{slots[0]['id']}/override",
        json={"reason": "x", "cancel": True},
        headers=b.headers("admin"),
    )
    assert r.status_code == 404
    assert (await client.get(f"{API}/slots", headers=b.headers("clerk"))).json() == []
    assert (await client.get(f"/t/{b.slug}/schedule.json")).json()["slots"] == []


# --- provisional year and calendar import ------------------------------------------------


async def test_provisional_slots_are_reevaluated_when_the_calendar_is_imported(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    from core.db.engine import global_tx
    from core.db.tables import WorkCalendarDay, WorkCalendarYear
    from core.domain.workcalendar import CalendarEntry
    from core.services import calendar
    from core.services.rota.reevaluate import reevaluate_provisional

    clock.set(at(2026, 12, 14))
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    slots = await setup_rota(client, t, monday_body(leaders, horizon_weeks=4))
    assert sorted({s["day"] for s in slots}) == [
        "2026-12-14",
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
        "2027-01-11",
    ]
    assert {s["day"] for s in slots if s["provisional"]} == {"2027-01-04", "2027-01-11"}
    await client.post(f"{API}/publish", json={"until": "2027-01-04"}, headers=t.headers("admin"))
    pub = (await client.get(f"/t/{t.slug}/schedule.json")).json()["slots"]
    assert [s["provisional"] for s in pub if s["day"] == "2027-01-04"] == [True, True]
    ics = vevents((await client.get(f"/t/{t.slug}/schedule.ics")).text)
    tentative = [e for e in ics if e["STATUS"] == "TENTATIVE"]
    assert len(tentative) == 2 and "临时" in tentative[0]["SUMMARY"]
    jan4_leader = next(s["leader_id"] for s in slots if s["day"] == "2027-01-04")

    try:
        # Imagine the 2027 notice makes 01-04 and 01-11 rest days (test data).
        entries = [
            CalendarEntry(date(2027, 1, 1), "holiday", "元旦"),
            CalendarEntry(date(2027, 1, 4), "holiday", "测试假日"),
            CalendarEntry(date(2027, 1, 11), "holiday", "测试假日"),
        ]
        await calendar.import_year(rt, 2027, entries, source="test")
        changed = await reevaluate_provisional(rt, 2027)
        assert changed >= 4
        again = await reevaluate_provisional(rt, 2027)
        assert again == 0
    finally:
        async with global_tx():
            await WorkCalendarDay.delete().where(WorkCalendarDay.day >= date(2027, 1, 1))
            await WorkCalendarYear.delete().where(WorkCalendarYear.year == 2027)

    after = (
        await client.get(f"{API}/slots", params={"start": "2027-01-01"}, headers=t.headers("clerk"))
    ).json()
    moved = [s for s in after if s["day"] == "2027-01-05"]
    assert len(moved) == 2
    assert all(not s["provisional"] and s["sequence"] == 1 for s in moved)  # published
    assert {s["original_day"] for s in moved} == {"2027-01-04"}
    assert {s["leader_id"] for s in moved} == {jan4_leader}
    draft = [s for s in after if s["status"] == "draft"]
    assert {s["day"] for s in draft} == {"2027-01-12"} and not draft[0]["provisional"]
    notes = [o for o in await outbox(rt, t, "rota.changed") if o["recipient_id"] == jan4_leader]
    assert len(notes) == 2 and "2027-01-05" in notes[0]["payload"]["body"]
    ics = {e["UID"]: e for e in vevents((await client.get(f"/t/{t.slug}/schedule.ics")).text)}
    jan5 = [e for e in ics.values() if e["DTSTART"].startswith("20270105")]
    assert len(jan5) == 2 and {e["STATUS"] for e in jan5} == {"CONFIRMED"}
    assert all("2027-01-04" in uid for uid in (e["UID"] for e in jan5))  # UID is stable


async def test_demo_rota_is_generated_and_published(
    client: Any, make_tenant: Any, rt: Any, clock: Any
) -> None:
    from core.services.rota.demo import install_demo_rota

    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    sc = t.scope(rt)
    res = await install_demo_rota(sc, t.users["admin"]["id"], leaders)
    assert res.created == res.published == 16
    pub = (await client.get(f"/t/{t.slug}/schedule.json")).json()["slots"]
    assert len(pub) == 16 and pub[0]["place"] == "一楼信访接待室"
