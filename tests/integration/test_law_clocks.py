"""Clocks as the law has them, from the API through the tick to what people find in
their inbox (issues 10 and 11): a paused clock is not chased; windows that belong to the
petitioner never remind the staff; the notice clock is met only by a notice actually
given; reminders about a 检举控告 never reach the accused."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.db.engine import tenant_tx
from core.db.notify.tables import Reminder
from daemon.notify.jobs import run_deliver, run_tick
from tests.integration.test_lifecycle import START, act, open_clock, register
from tests.integration.test_plugin_platform import case_body
from tests.integration.test_plugin_sectors import add_departments
from tests.integration.test_reminders import at, quiet
from tests.integration.test_reminders_tz import ROOT, worker_env

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


async def inbox_of(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/inbox/?limit=200", headers=headers)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["items"]))  # oldest first


def about(messages: list[dict[str, Any]], text: str) -> list[str]:
    return [m["title"] for m in messages if text in m["title"] + m["body"]]


async def xinfang_tick(backend: Any, tmp: Path, now: datetime, slug: str) -> str:
    """`xinfang tick --tenant SLUG` in its own process, "now" read from a file."""
    now_file = tmp / "now"
    now_file.write_text(now.isoformat())
    env = worker_env(backend, tmp, now_file, REDIS_URL="redis://127.0.0.1:1/0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        "tick",
        "--tenant",
        slug,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    return stdout.decode()


async def notice(client: Any, t: Any, case_id: int, role: str = "clerk", **data: Any) -> Any:
    return await client.post(
        f"/api/v1/cases/{case_id}/actions/notify", json=data, headers=t.headers(role)
    )


# --- issue 10.2: a paused clock is not chased ------------------------------------------


async def test_paused_clock_is_not_chased_and_runs_again_from_the_recounted_due_date(
    backend: Any, client: Any, make_tenant: Any, clock: FixedClock, tmp_path: Path
) -> None:
    t = await make_tenant()
    await quiet(t)
    case = await register(client, t)
    cid, code = case["id"], case["receipt_code"]
    await act(client, t, cid, "accept", "clerk")
    case = await act(client, t, cid, "start_handling", "clerk", handler_id=t.users["handler"]["id"])
    assert open_clock(case, "handle")["due"] == "2026-11-16"
    clock.set(at("2026-11-01", 10))
    await act(client, t, cid, "pause_clock", "handler", pause_kind="appraisal")
    clocks = (await client.get(f"/api/v1/cases/{cid}/deadlines", headers=t.headers())).json()
    assert [c["state"] for c in clocks if c["clock"] == "handle"] == ["paused"]

    # Past the unpaused due date (11-16), its 催办 (11-17) and 督办 (11-18): nothing.
    await xinfang_tick(backend, tmp_path, at("2026-11-19"), t.slug)
    for role in ("handler", "clerk", "supervisor", "leader"):
        assert about(await inbox_of(client, t.headers(role)), "办理期限") == [], role

    # Resumed on 11-20: 20 paused days (11-01..11-20) → day 80 = Sat 12-05 → Mon 12-07.
    clock.set(at("2026-11-20", 10))
    case = await act(client, t, cid, "resume_clock", "handler")
    assert open_clock(case, "handle")["due"] == "2026-12-07"
    await xinfang_tick(backend, tmp_path, at("2026-12-02"), t.slug)
    handler = about(await inbox_of(client, t.headers("handler")), "办理期限")
    assert handler == [f"【即将到期】办理期限：{code}"]
    await xinfang_tick(backend, tmp_path, at("2026-12-09"), t.slug)
    handler = about(await inbox_of(client, t.headers("handler")), "办理期限")
    assert handler[-1] == f"【补发】【催办】办理期限：{code}"
    sup = about(await inbox_of(client, t.headers("supervisor")), "办理期限")
    assert sup == [f"【督办】办理期限：{code}"]


# --- issue 10.3: the petitioner's own windows never remind the staff ------------------


async def test_redirected_retrial_request_has_no_clock_to_chase(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant(plugins=("court",))
    await quiet(t)
    redirected = await client.post(
        "/api/v1/cases",
        json=case_body(
            "retrial",
            {
                "case_number": "(2026)京01民终3号",
                "seeks": "change_judgment",
                "effective_date": "2026-06-01",
            },
            cause="二审判决错误，要求改判",
        ),
        headers=t.headers(),
    )
    assert redirected.status_code == 201, redirected.text
    redirected = redirected.json()
    assert redirected["status"] == "not_accepted"
    # The petitioner's six months are shown (they end 2026-12-01) ...
    assert open_clock(redirected, "retrial_petition")["due"] == "2026-12-01"
    assert {d["clock"] for d in redirected["deadlines"]} == {"retrial_petition"}
    # ... a complaint about the same judgment's handling is a petition with staff clocks.
    complaint = await client.post(
        "/api/v1/cases",
        json=case_body(
            "retrial",
            {
                "case_number": "(2026)京01民终4号",
                "seeks": "complaint",
                "effective_date": "2026-06-01",
            },
            cause="申请再审材料递交后长期无人答复",
            visitor={"name": "另一人", "phone": "13800138001"},
        ),
        headers=t.headers(),
    )
    assert complaint.status_code == 201, complaint.text
    complaint = complaint.json()
    for day in ("2026-09-28", "2026-10-12", "2026-11-27", "2026-12-01", "2026-12-04"):
        await run_tick(rt, tenants=[t.id], now=at(day))
    async with tenant_tx(t.id, write=False):
        kinds = {
            (r["case_id"], r["kind"])
            for r in await Reminder.select().where(Reminder.tenant_id == t.id)
        }
    assert not [k for k in kinds if k[1].startswith("retrial_petition")]
    assert not [k for k in kinds if k[0] == redirected["id"]]
    assert (complaint["id"], "accept:escalated") in kinds  # staff duties still chased
    for role in ("clerk", "handler", "supervisor", "leader", "admin"):
        got = await inbox_of(client, t.headers(role))
        assert about(got, redirected["receipt_code"]) == [], role
        assert about(got, "申请再审期限") == [], role


async def test_execution_objection_is_redirected_and_starts_no_clock(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """诉访分离: the court reviews a written execution objection (15 days) in the
    execution procedure, not as a petition — the petition desk redirects and tracks no
    clock for it."""
    from core.services import sector, tenants

    t = await make_tenant(plugins=("court",))
    await quiet(t)
    assert "execution_objection" not in sector.extra_clocks(
        t.scope(rt), await tenants.get_tenant(t.scope(rt))
    )
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "execution", {"case_number": "(2025)京0105执88号", "seeks": "change_judgment"}
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "not_accepted" and case["deadlines"] == []
    event = next(e for e in case["events"] if e["kind"] == "redirected")
    assert event["data"]["channel"] == "执行异议/复议" and "十五日内审查" in event["data"]["notice"]
    bad = await client.get(
        "/api/v1/deadlines/explain",
        params={"clock": "execution_objection", "start": "2026-09-16"},
        headers=t.headers(),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_clock"


# --- issue 10.4: the written notice ----------------------------------------------------


async def test_notice_clock_runs_until_the_notice_is_given(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    await quiet(t)
    case = await register(client, t)
    cid, code = case["id"], case["receipt_code"]
    early = await notice(client, t, cid, channel="post", given_on="2026-09-16")
    assert early.status_code == 409 and early.json()["error"]["code"] == "illegal_transition"
    case = await act(client, t, cid, "accept", "clerk")
    assert open_clock(case, "notify")["due"] == "2026-10-08"  # accepting is not notifying

    for data, field, code_ in [
        ({"channel": "fax", "given_on": "2026-09-16"}, "channel", "invalid_choice"),
        ({"channel": "post"}, "given_on", "missing_field"),
        ({"channel": "post", "given_on": "2026-09-17"}, "given_on", "notice_in_future"),
        ({"channel": "post", "given_on": "2026-09-15"}, "given_on", "notice_before_receipt"),
    ]:
        r = await notice(client, t, cid, **data)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field and r.json()["error"]["code"] == code_
        assert r.json()["error"]["message"]
    after = (await client.get(f"/api/v1/cases/{cid}", headers=t.headers())).json()
    assert after["version"] == case["version"] and open_clock(after, "notify")

    # Not given by the due date: chased like any other clock.
    await run_tick(rt, tenants=[t.id], now=at("2026-10-09"))
    assert about(await inbox_of(client, t.headers("clerk")), "书面告知") == [
        f"【催办】书面告知期限：{code}"
    ]
    clock.set(at("2026-10-09", 15))
    r = await notice(client, t, cid, channel="post", given_on="2026-10-09", note="挂号信寄出")
    assert r.status_code == 200, r.text
    case = r.json()
    assert [d["clock"] for d in case["deadlines"]] == ["handle"]
    event = case["events"][-1]
    assert event["kind"] == "notify" and event["data"]["channel"] == "post"
    assert event["data"]["given_on"] == "2026-10-09" and event["data"]["late"] is True
    clocks = (await client.get(f"/api/v1/cases/{cid}/deadlines", headers=t.headers())).json()
    met = next(c for c in clocks if c["clock"] == "notify")
    assert met["state"] == "met"
    again = await notice(client, t, cid, channel="sms", given_on="2026-10-09")
    assert again.status_code == 409 and again.json()["error"]["code"] == "notice_already_given"
    # Once given, no 督办 follows.
    await run_tick(rt, tenants=[t.id], now=at("2026-10-12"))
    assert about(await inbox_of(client, t.headers("supervisor")), "书面告知") == []


async def test_not_accepted_or_transferred_matter_still_owes_the_notice(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    refused = await register(client, t)
    case = await act(
        client, t, refused["id"], "not_accept", "clerk", channel="arbitration", reason="劳动争议"
    )
    assert open_clock(case, "notify")
    err = await act(client, t, refused["id"], "archive", "clerk", 409)
    assert err["error"]["code"] == "notice_not_given"
    r = await notice(client, t, refused["id"], channel="in_person", given_on="2026-09-16")
    assert r.status_code == 200, r.text
    assert (await act(client, t, refused["id"], "archive", "clerk"))["status"] == "archived"

    moved = await register(
        client, t, cause="另一件：路灯不亮", department_id=t.departments["petition"]
    )
    case = await act(
        client, t, moved["id"], "transfer", "clerk", to_department_id=t.departments["handling"]
    )
    assert {d["clock"] for d in case["deadlines"]} == {"notify", "objection"}


async def test_receiver_of_a_cross_tenant_transfer_owes_its_own_notice(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    bureau, utility = await make_tenant(prefix="bureau"), await make_tenant(prefix="heat")
    case = await register(client, bureau)
    await act(client, bureau, case["id"], "transfer", "clerk", to_tenant=utility.slug)
    r = await notice(client, bureau, case["id"], channel="post", given_on="2026-09-16")
    assert r.status_code == 200, r.text  # the sender told the visitor of the transfer

    async def theirs() -> dict[str, Any]:
        items = (await client.get("/api/v1/cases", headers=utility.headers())).json()["items"]
        got = await client.get(f"/api/v1/cases/{items[0]['id']}", headers=utility.headers())
        return got.json()  # type: ignore[no-any-return]

    copy = await theirs()
    assert {d["clock"] for d in copy["deadlines"]} == {"objection", "notify"}
    await act(client, utility, copy["id"], "object_transfer", "clerk", reason="不属供热范围")
    assert (await theirs())["deadlines"] == []  # returned: the sender owns it again

    again = await register(client, bureau, cause="另一件：暖气片漏水")
    await act(client, bureau, again["id"], "transfer", "clerk", to_tenant=utility.slug)
    copy = await theirs()
    copy = await act(client, utility, copy["id"], "accept_transfer", "clerk")
    assert {d["clock"] for d in copy["deadlines"]} == {"handle", "notify"}
    r = await notice(client, utility, copy["id"], channel="sms", given_on="2026-09-16")
    assert r.status_code == 200 and {d["clock"] for d in r.json()["deadlines"]} == {"handle"}


# --- issue 11.1a: reminders never reach the accused ------------------------------------


async def _complaint_against_a_supervising_officer(
    rt: Any, client: Any, make_tenant: Any
) -> tuple[Any, dict[str, Any], dict[str, str], dict[str, Any]]:
    from core.services import users

    t = await make_tenant(plugins=("police",))
    await quiet(t, {"screening": False})  # digests on
    deps = await add_departments(client, t, "inspection", "station-hx")
    officer = await users.create_user(
        t.scope(rt),
        username="031234",
        display_name="被投诉的副所长",
        password="pw-123456789",
        roles=["supervisor", "leader"],
        department_id=deps["station-hx"],
    )
    token = (await users.create_token(t.scope(rt), officer.id, name="t")).token
    form = {"officer_badge": "031234", "officer_unit": "station-hx"}
    r = await client.post(
        "/api/v1/cases", json=case_body("officer_conduct", form), headers=t.headers()
    )
    assert r.status_code == 201, r.text
    return t, officer, {"Authorization": f"Bearer {token}"}, r.json()


async def test_escalation_and_digests_about_a_complaint_never_reach_the_accused(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t, officer, officer_h, case = await _complaint_against_a_supervising_officer(
        rt, client, make_tenant
    )
    code = case["receipt_code"]
    # Received 09-16: accept/notify due 10-08; 督办 from 10-10 (a make-up Saturday).
    for day in ("2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"):
        await run_tick(rt, tenants=[t.id], now=at(day, 9))
    theirs = await inbox_of(client, officer_h)
    assert (
        about(theirs, code) == []
        and [m for m in theirs if m["link"] == f"/cases/{case['id']}"] == []
    )
    assert not [m for m in theirs if m["kind"] == "digest" and code in m["body"]]
    for role in ("supervisor", "leader"):
        got = about(await inbox_of(client, t.headers(role)), code)
        assert f"【督办】受理期限：{code}" in got, (role, got)
    digest = [m for m in await inbox_of(client, t.headers("supervisor")) if m["kind"] == "digest"]
    assert digest and code in digest[-1]["body"]
    async with tenant_tx(t.id, write=False):
        rows = await Reminder.select().where(
            (Reminder.tenant_id == t.id) & (Reminder.kind == f"digest:{officer.id}")
        )
    assert rows == []  # nothing else is open for them, so no digest at all


async def test_an_officer_account_created_after_the_complaint_is_never_reminded_of_it(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """The accused set is matched when a reminder is written, not when the complaint
    was: an officer who joins later under the accused badge (another unit now) gets no
    督办 or digest line about it; their colleagues do."""
    from core.services import users

    t = await make_tenant(plugins=("police",))
    await quiet(t, {"screening": False})
    await add_departments(client, t, "inspection", "station-hx")
    form = {"officer_badge": "047711", "officer_unit": "station-hx"}
    r = await client.post(
        "/api/v1/cases", json=case_body("officer_conduct", form), headers=t.headers()
    )
    assert r.status_code == 201, r.text
    case = r.json()
    moved = await users.create_user(
        t.scope(rt),
        username="047711",
        display_name="调入的警官",
        password="pw-123456789",
        roles=["supervisor", "leader"],
        department_id=t.departments["petition"],
    )
    token = (await users.create_token(t.scope(rt), moved.id, name="t")).token
    for day in ("2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"):
        await run_tick(rt, tenants=[t.id], now=at(day, 9))
    theirs = await inbox_of(client, {"Authorization": f"Bearer {token}"})
    assert about(theirs, case["receipt_code"]) == []
    assert [m for m in theirs if m["link"] == f"/cases/{case['id']}"] == []
    got = about(await inbox_of(client, t.headers("supervisor")), case["receipt_code"])
    assert f"【督办】受理期限：{case['receipt_code']}" in got


async def test_delivery_drops_any_message_about_a_case_hidden_from_its_recipient(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """Any service or plugin may queue a notification; delivery applies the case page's
    rule to inbox, e-mail and plugin channels alike."""
    from core.db.notify.tables import NotifyDelivery as Delivery
    from core.db.tables import Tenant
    from core.services.events import enqueue

    t, officer, officer_h, case = await _complaint_against_a_supervising_officer(
        rt, client, make_tenant
    )
    async with tenant_tx(t.id):
        await Tenant.update({Tenant.settings: {"notify": {"channels": ["sms"]}}}).where(
            Tenant.id == t.id
        )
    cid = case["id"]
    payloads = [
        {"title": "催办", "body": "请办理", "link": f"/cases/{cid}"},
        {"title": "事件", "body": "同楼栋投诉", "link": None, "lead_case_id": cid},
        {"title": "汇总", "body": "3 件", "link": "/inbox", "case_ids": [cid + 1000, cid]},
        {"title": "与本案无关", "body": "排查表", "link": None},
    ]
    async with tenant_tx(t.id):
        for i, payload in enumerate(payloads):
            for uid in (officer.id, t.users["supervisor"]["id"]):
                await enqueue(
                    t.scope(rt),
                    "test",
                    dedupe_key=f"m{i}:{uid}",
                    at=START,
                    payload=payload,
                    recipient_id=uid,
                )
    await run_deliver(rt, tenants=[t.id], now=START)
    assert [m["title"] for m in await inbox_of(client, officer_h)] == ["与本案无关"]
    assert len(await inbox_of(client, t.headers("supervisor"))) == 4
    async with tenant_tx(t.id, write=False):
        sms = await Delivery.select(Delivery.user_id).where(Delivery.tenant_id == t.id)
    assert Counter(r["user_id"] for r in sms) == {officer.id: 1, t.users["supervisor"]["id"]: 4}


async def test_demo_gives_the_notice_after_each_decision(
    rt: Any, client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    from core.demo import lifecycle as demo_lifecycle

    t = await make_tenant()
    for cause in ("路灯不亮", "垃圾清运不及时", "小区道路破损"):
        await register(client, t, cause=cause, visitor={"name": cause[:2]})
    await demo_lifecycle.advance(t.scope(rt))
    items = (await client.get("/api/v1/cases", headers=t.headers())).json()["items"]
    seen = {}
    for item in reversed(items):
        case = (await client.get(f"/api/v1/cases/{item['id']}", headers=t.headers())).json()
        notices = [e["data"] for e in case["events"] if e["kind"] == "notify"]
        seen[case["status"]] = (notices, {d["clock"] for d in case["deadlines"]})
    assert seen["registered"] == ([], {"accept", "notify"})  # nothing decided to tell yet
    for status in ("in_progress", "closed"):
        notices, running = seen[status]
        assert [(n["channel"], n["given_on"]) for n in notices] == [("in_person", "2026-09-16")]
        assert "notify" not in running
