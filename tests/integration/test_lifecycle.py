"""The case lifecycle through the API on both engines: every transition, its clocks,
its refusals (with nothing written), transfers across departments and tenants, review
and re-review to finality, exclusion and recusal, archive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import valid_id_number

pytestmark = pytest.mark.asyncio
START = datetime(2026, 9, 16, 10, 0, tzinfo=TIMEZONE)


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


def body(**over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "channel": "visit",
        "visitor": {"name": "李四", "id_number": valid_id_number(seq=321), "phone": "13900001111"},
        "cause": "小区供暖温度长期不达标，室温只有十五度",
        "demand": "尽快解决",
        "category": "general",
        "locality": "幸福小区3号楼",
    }
    b.update(over)
    return b


async def register(client: Any, t: Any, **over: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/cases", json=body(**over), headers=t.headers("clerk"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def act(
    client: Any, t: Any, case_id: int, action: str, role: str, status: int = 200, **data: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", json=data, headers=t.headers(role)
    )
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def open_clock(case: dict[str, Any], name: str) -> dict[str, Any]:
    found = [d for d in case["deadlines"] if d["clock"] == name]
    assert found, case["deadlines"]
    return found[0]


async def test_full_path_from_registration_to_final_and_archive(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    assert case["status"] == "registered"
    accept = open_clock(case, "accept")
    assert accept["due"] == "2026-10-08"  # day 15 is National Day → next working day
    assert accept["pack"] == "cn-2022" and accept["mode"] == "calendar" and accept["steps"]
    cid = case["id"]

    case = await act(client, t, cid, "accept", "clerk")
    handle = open_clock(case, "handle")
    assert handle["due"] == "2026-11-16"
    # Accepting is not telling the visitor: the notice clock runs until a notice is given.
    assert {d["clock"] for d in case["deadlines"]} == {"handle", "notify"}
    case = await act(client, t, cid, "notify", "clerk", channel="in_person", given_on="2026-09-16")
    assert [d["clock"] for d in case["deadlines"]] == ["handle"]

    err = await act(client, t, cid, "assign", "clerk", 422, handler_id=t.users["handler"]["id"])
    assert err["error"]["field"] == "plan"
    await act(
        client, t, cid, "assign", "clerk", handler_id=t.users["handler"]["id"], plan="实地测温"
    )
    err = await act(client, t, cid, "approve_assignment", "clerk", 403)
    assert err["error"]["code"] == "role_required"
    case = await act(client, t, cid, "approve_assignment", "leader")
    assert case["status"] == "in_progress" and case["assignee_id"] == t.users["handler"]["id"]
    err = await act(client, t, cid, "coordinate", "handler", 422, minutes="协调会纪要")
    assert err["error"]["field"] == "department_ids"
    depts = list(t.departments.values())
    case = await act(client, t, cid, "coordinate", "handler", minutes="纪要", department_ids=depts)
    assert case["events"][-1]["data"]["department_ids"] == depts

    err = await act(client, t, cid, "request_extension", "handler", 422, days=31, reason="需检测")
    assert err["error"]["code"] == "extension_too_long" and err["error"]["field"] == "days"
    await act(client, t, cid, "request_extension", "handler", days=20, reason="需第三方检测")
    case = await act(client, t, cid, "approve_extension", "leader")
    ext = open_clock(case, "extension")
    assert ext["due"] == "2026-12-07"  # 2026-11-16 + 20 = 12-06 (Sunday) → Monday
    event = case["events"][-1]
    assert event["kind"] == "approve_extension" and "需第三方检测" in event["data"]["notice"]
    err = await act(client, t, cid, "request_extension", "handler", 409, days=5, reason="再延")
    assert err["error"]["code"] == "extension_limit"

    await act(client, t, cid, "report", "handler", note="已修复管道，室温 20 度")
    await act(client, t, cid, "return_report", "supervisor", reason="缺少测温记录")
    await act(client, t, cid, "report", "handler", note="附测温记录")
    err = await act(client, t, cid, "approve_report", "supervisor", 422, opinion="support")
    assert err["error"]["field"] == "opinion_text"
    case = await act(
        client, t, cid, "approve_report", "supervisor", opinion="support", opinion_text="支持"
    )
    assert case["status"] == "closed" and case["deadlines"] == []

    clock.set(START + timedelta(days=45))
    late = await act(client, t, cid, "request_review", "clerk", 409, reason="不服")
    assert late["error"]["code"] == "request_window_closed"  # 30 days from the opinion
    clock.set(START + timedelta(days=10))
    err = await act(client, t, cid, "request_rereview", "clerk", 409, reason="不服")
    assert err["error"]["code"] == "review_first"
    case = await act(client, t, cid, "request_review", "clerk", reason="不服处理意见")
    assert case["status"] == "review" and open_clock(case, "review_decide")
    await act(client, t, cid, "decide_review", "leader", opinion="explain", opinion_text="维持")
    await act(client, t, cid, "request_rereview", "clerk", reason="仍不服")
    case = await act(
        client, t, cid, "decide_rereview", "leader", opinion="not_support", opinion_text="终结"
    )
    assert case["status"] == "final" and case["review_level"] == 2

    again = await client.post("/api/v1/cases", json=body(), headers=t.headers("clerk"))
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "matter_final"
    assert case["receipt_code"] in again.json()["error"]["message"]

    err = await act(client, t, cid, "follow_up", "clerk", 422, note="电话回访")
    assert err["error"]["field"] == "satisfaction"
    case = await act(
        client, t, cid, "follow_up", "clerk", note="电话回访", satisfaction="satisfied"
    )
    assert case["flags"]["satisfaction"] == "satisfied"
    case = await act(client, t, cid, "archive", "clerk")
    assert case["status"] == "archived" and case["archive_volume_id"]
    err = await act(client, t, cid, "follow_up", "clerk", 409, note="回访")
    assert err["error"]["code"] == "illegal_transition" and err["error"]["details"]["allowed"] == []
    vols = (
        await client.get(f"/api/v1/visitors/{case['visitor_id']}/archive", headers=t.headers())
    ).json()
    assert vols[0]["year"] == 2026 and vols[0]["matters"][0]["receipt_code"] == case["receipt_code"]
    kinds = [e["kind"] for e in case["events"]]
    assert kinds[:5] == ["registered", "accept", "notify", "assign", "approve_assignment"]


async def test_illegal_transition_lists_allowed_steps_and_writes_nothing(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    err = (await act(client, t, case["id"], "report", "handler", 409, note="x"))["error"]
    assert err["code"] == "illegal_transition"
    assert {"accept", "not_accept", "transfer"} <= set(err["details"]["allowed"])
    assert "已登记" in err["message"]
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=t.headers())).json()
    assert after["version"] == case["version"] and len(after["events"]) == 1


async def test_not_accepted_matter_is_redirected_with_notice(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    err = await act(client, t, case["id"], "not_accept", "clerk", 422, reason="属于劳动争议")
    assert err["error"]["field"] == "channel"
    case = await act(
        client, t, case["id"], "not_accept", "clerk", channel="arbitration", reason="属于劳动争议"
    )
    assert case["status"] == "not_accepted" and "仲裁" in case["events"][-1]["data"]["notice"]


async def test_internal_transfer_accept_and_objection_window(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    dept = t.departments["handling"]
    case = await register(client, t, department_id=t.departments["petition"])
    case = await act(client, t, case["id"], "transfer", "clerk", to_department_id=dept)
    assert case["status"] == "transferring" and case["department_id"] == dept
    # 5 working days: 17, 18, Sun 20 (调休上班 for National Day), 21, 22.
    assert open_clock(case, "objection")["due"] == "2026-09-22"
    case = await act(client, t, case["id"], "accept_transfer", "clerk")
    assert case["status"] == "accepted" and open_clock(case, "handle")

    other = await register(
        client, t, department_id=t.departments["petition"], cause="另一件事：路灯不亮"
    )
    await act(client, t, other["id"], "transfer", "clerk", to_department_id=dept)
    clock.set(START + timedelta(days=10))
    err = await act(client, t, other["id"], "object_transfer", "clerk", 409, reason="不属本部门")
    assert err["error"]["code"] == "objection_window_closed"
    clock.set(START + timedelta(days=3))
    err = await act(client, t, other["id"], "object_transfer", "clerk", 422)
    assert err["error"]["field"] == "reason"
    back = await act(client, t, other["id"], "object_transfer", "clerk", reason="不属本部门职责")
    assert back["status"] == "registered" and back["department_id"] == t.departments["petition"]


async def test_transfer_to_another_tenant_and_back(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    bureau, utility = await make_tenant(prefix="bureau"), await make_tenant(prefix="heat")
    case = await register(client, bureau)
    out = await act(client, bureau, case["id"], "transfer", "clerk", to_tenant=utility.slug)
    assert out["status"] == "transferring"
    theirs = (await client.get("/api/v1/cases", headers=utility.headers())).json()["items"]
    assert len(theirs) == 1 and theirs[0]["status"] == "transferring"
    # The receiver got its own copy of the visitor, masked as usual.
    assert theirs[0]["visitor"]["phone"] == "139****1111"
    # Each side sees only its own case.
    assert (
        await client.get(f"/api/v1/cases/{theirs[0]['id']}", headers=bureau.headers())
    ).status_code == 404
    await act(client, utility, theirs[0]["id"], "object_transfer", "clerk", reason="不属供热范围")
    mine = (await client.get(f"/api/v1/cases/{case['id']}", headers=bureau.headers())).json()
    assert mine["status"] == "registered"
    assert mine["events"][-1]["kind"] == "transfer_objected"
    assert mine["events"][-1]["data"]["reason"] == "不属供热范围"

    await act(client, bureau, case["id"], "transfer", "clerk", to_tenant=utility.slug)
    theirs = (
        await client.get("/api/v1/cases?status=transferring", headers=utility.headers())
    ).json()["items"]
    await act(client, utility, theirs[0]["id"], "accept_transfer", "clerk")
    mine = (await client.get(f"/api/v1/cases/{case['id']}", headers=bureau.headers())).json()
    assert mine["status"] == "transferred"
    fresh = await register(client, bureau, cause="另一件：公交站牌缺失")
    err = await act(client, bureau, fresh["id"], "transfer", "clerk", 422, to_tenant="no-such")
    assert err["error"]["code"] == "unknown_tenant" and err["error"]["field"] == "to_tenant"


async def test_group_visit_limit_follows_the_pack(client: Any, make_tenant: Any) -> None:
    zj, cn = await make_tenant(rule_pack="zhejiang"), await make_tenant()
    reps = [{"name": f"代表{i}"} for i in range(6)]

    async def post(t: Any, headcount: int, n: int) -> Any:
        payload = body(headcount=headcount, representatives=reps[:n])
        return await client.post("/api/v1/cases", json=payload, headers=t.headers())

    r = await post(zj, 8, 4)  # Zhejiang: at most 3 representatives for ≤10 people
    assert r.status_code == 422
    e = r.json()["error"]
    assert e["code"] == "too_many_representatives" and e["field"] == "representatives"
    assert "不得超过 3 人" in e["message"] and "zhejiang" in e["message"]
    assert (await post(zj, 8, 3)).status_code == 201
    assert (await post(zj, 30, 5)).status_code == 201
    assert (await post(cn, 8, 5)).status_code == 201  # national: 5
    r = await post(cn, 30, 6)
    assert r.status_code == 422 and "不得超过 5 人" in r.json()["error"]["message"]
    r = await post(cn, 6, 0)
    assert r.status_code == 422 and r.json()["error"]["code"] == "representatives_required"
    ok = (await post(cn, 4, 0)).json()
    assert ok["is_group"] is False


async def test_repeat_veteran_skip_level_and_first_contact(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    first = await register(client, t)
    assert first["visit_kind"] == "first" and first["earlier_matters"] == []
    second = await register(client, t, cause="供暖温度长期不达标，室温只有15度", skip_level=True)
    assert second["visit_kind"] == "repeat"
    assert (
        second["flags"]["repeat"]["of"] == first["receipt_code"] and second["flags"]["skip_level"]
    )
    assert [m["receipt_code"] for m in second["earlier_matters"]] == [first["receipt_code"]]
    other = await register(client, t, cause="物业乱收停车费", locality="别处")
    assert other["visit_kind"] == "first"
    for _ in range(2):
        again = await register(client, t)
    assert again["flags"].get("veteran") is True  # 3 repeats ≥ the national default 3
    quick = await register(client, t, cause="咨询缴费时间", answered_on_spot="已告知每月5日前缴费")
    assert (
        quick["status"] == "closed" and quick["first_contact_closed"] and quick["deadlines"] == []
    )


async def test_accused_cannot_see_and_recused_cannot_act(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    handler = t.users["handler"]
    accused = await register(
        client,
        t,
        purpose="accusation",
        legal_category="accusation",
        cause="承办人员吃拿卡要",
        accused={"user_ids": [handler["id"]], "description": "承办人"},
    )
    assert (
        await client.get(f"/api/v1/cases/{accused['id']}", headers=t.headers("handler"))
    ).status_code == 404
    listed = (await client.get("/api/v1/cases", headers=t.headers("handler"))).json()["items"]
    assert accused["id"] not in [c["id"] for c in listed]
    assert (
        await client.get(f"/api/v1/cases/{accused['id']}", headers=t.headers("clerk"))
    ).status_code == 200
    who = accused["visitor_id"]
    person = await client.get(f"/api/v1/visitors/{who}", headers=t.headers("handler"))
    assert person.status_code == 200 and person.json()["cases"] == []
    missing = await client.post(
        "/api/v1/cases", json=body(legal_category="accusation"), headers=t.headers()
    )
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "accused"

    case = await register(client, t, cause="另一事项：楼道灯坏了")
    await act(client, t, case["id"], "accept", "clerk")
    await act(
        client, t, case["id"], "recuse", "supervisor", user_id=handler["id"], reason="亲属关系"
    )
    err = await act(client, t, case["id"], "start_handling", "clerk", 422, handler_id=handler["id"])
    assert err["error"]["code"] == "recused" and err["error"]["field"] == "handler_id"
    case2 = await register(client, t, cause="第三件：电梯故障")
    await act(client, t, case2["id"], "accept", "clerk")
    leader = t.users["leader"]["id"]
    await act(client, t, case2["id"], "recuse", "supervisor", user_id=leader, reason="利害关系")
    await act(client, t, case2["id"], "assign", "clerk", handler_id=handler["id"], plan="核查")
    err = await act(client, t, case2["id"], "approve_assignment", "leader", 403)
    assert err["error"]["code"] == "recused"


async def test_pause_and_resume_move_the_deadline(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    await act(client, t, case["id"], "accept", "clerk")
    case = await act(
        client, t, case["id"], "start_handling", "clerk", handler_id=t.users["handler"]["id"]
    )
    assert open_clock(case, "handle")["due"] == "2026-11-16"
    await act(
        client, t, case["id"], "pause_clock", "handler", pause_kind="appraisal", on="2026-09-20"
    )
    err = await act(client, t, case["id"], "pause_clock", "handler", 409, pause_kind="hearing")
    assert err["error"]["code"] == "already_paused"
    case = await act(client, t, case["id"], "resume_clock", "handler", on="2026-09-22")
    handle = open_clock(case, "handle")
    assert handle["due"] == "2026-11-18" and handle["pauses"] == [["2026-09-20", "2026-09-22"]]
    all_clocks = (
        await client.get(f"/api/v1/cases/{case['id']}/deadlines", headers=t.headers())
    ).json()
    assert [c["state"] for c in all_clocks if c["clock"] == "handle"] == ["superseded", "open"]


async def test_failure_mid_transition_leaves_nothing(
    client: Any, make_tenant: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.services import events

    t = await make_tenant()
    case = await register(client, t)

    async def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(events, "record_event", boom)
    r = await client.post(
        f"/api/v1/cases/{case['id']}/actions/accept", json={}, headers=t.headers()
    )
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    monkeypatch.undo()
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=t.headers())).json()
    assert after["status"] == "registered" and after["version"] == case["version"]
    assert {d["clock"] for d in after["deadlines"]} == {"accept", "notify"}


async def test_stale_version_is_refused(client: Any, make_tenant: Any, clock: FixedClock) -> None:
    t = await make_tenant()
    case = await register(client, t)
    err = await act(client, t, case["id"], "accept", "clerk", 409, version=case["version"] + 5)
    assert err["error"]["code"] == "stale_case"
    await act(client, t, case["id"], "accept", "clerk", version=case["version"])


async def test_explain_api_matches_the_counting(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.get(
        "/api/v1/deadlines/explain",
        params={"clock": "handle", "start": "2026-09-16", "paused": "2026-09-20:2026-09-22"},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["due"] == "2026-11-18" and out["pack"] == "cn-2022" and not out["provisional"]
    bad = await client.get(
        "/api/v1/deadlines/explain",
        params={"clock": "nap", "start": "2026-09-16"},
        headers=t.headers(),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_clock"
    cal = (await client.get("/api/v1/calendar/2026", headers=t.headers())).json()
    assert {"date": "2026-10-10", "name": "国庆节调休上班"} in cal["makeup_workdays"]
    assert (await client.get("/api/v1/calendar/2031", headers=t.headers())).json()["provisional"]


async def test_calendar_import_recomputes_provisional_deadlines(
    client: Any, make_tenant: Any, clock: FixedClock, rt: Any
) -> None:
    from core.db.engine import global_tx
    from core.db.tables import WorkCalendarDay, WorkCalendarYear
    from core.domain.workcalendar import parse_calendar_import
    from core.services import calendar, deadlines
    from tests.calendar_notice import notice_2027_csv

    t = await make_tenant()
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=TIMEZONE))
    case = await register(client, t)
    case = await act(client, t, case["id"], "accept", "clerk")
    handle = open_clock(case, "handle")
    assert handle["provisional"] and handle["due"] == "2027-01-19"
    year, entries = parse_calendar_import(notice_2027_csv("2027-01-19,holiday,假想假日"), "csv")
    try:
        await calendar.import_year(rt, year, entries, source="test")
        n = await deadlines.recompute_provisional(rt, 2027, now=clock.now())
        assert n >= 1
        case = (await client.get(f"/api/v1/cases/{case['id']}", headers=t.headers())).json()
        handle = open_clock(case, "handle")
        assert not handle["provisional"] and handle["due"] == "2027-01-20"
        assert case["events"][-1]["kind"] == "deadline_recomputed"
    finally:
        async with global_tx():
            await WorkCalendarDay.delete().where(WorkCalendarDay.day >= datetime(2027, 1, 1).date())
            await WorkCalendarYear.delete().where(WorkCalendarYear.year == 2027)
