"""The three sector plugins' rules, through the API on both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.tables import Outbox
from core.services import sector, tenants
from daemon.notify.jobs import run_tick
from tests.integration.test_plugin_platform import case_body

pytestmark = pytest.mark.asyncio


async def add_departments(client: Any, t: Any, *codes: str) -> dict[str, int]:
    out = {}
    for code in codes:
        r = await client.post(
            "/api/v1/departments", json={"code": code, "name": code}, headers=t.headers("admin")
        )
        assert r.status_code == 201, r.text
        out[code] = r.json()["id"]
    return out


def season_around(day: Any, inside: bool) -> dict[str, str]:
    if inside:
        start, end = day - timedelta(days=10), day + timedelta(days=10)
    else:
        start, end = day + timedelta(days=10), day + timedelta(days=40)
    return {"start": start.strftime("%m-%d"), "end": end.strftime("%m-%d")}


# --- enterprise_logistics ---------------------------------------------------------


async def test_cold_flat_in_heating_season_goes_to_heating_at_once(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    deps = await add_departments(client, t, "heating", "billing")
    today = rt.clock.today()
    await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"config": {"heating_season": season_around(today, True), "temp_standard": 18}},
        headers=t.headers("admin"),
    )
    form = {
        "estate": "幸福小区",
        "building": "3号楼",
        "unit": "2",
        "room": "301",
        "indoor_temp": 15.5,
    }
    r = await client.post("/api/v1/cases", json=case_body("heating", form), headers=t.headers())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["department_id"] == deps["heating"]
    assert case["urgency"] == "urgent"
    assert case["flags"]["below_standard_temp"] == {"measured": 15.5, "standard": 18.0}

    warm = {**form, "indoor_temp": 19}
    r = await client.post(
        "/api/v1/cases", json=case_body("heating", warm, cause="暖气有异响"), headers=t.headers()
    )
    assert r.json()["urgency"] == "normal"
    assert "below_standard_temp" not in r.json()["flags"]

    # Out of season the same reading is an ordinary complaint; the standard is per tenant.
    await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"config": {"heating_season": season_around(today, False)}},
        headers=t.headers("admin"),
    )
    r = await client.post(
        "/api/v1/cases", json=case_body("heating", form, cause="室温偏低"), headers=t.headers()
    )
    assert r.json()["urgency"] == "normal"


async def test_five_complaints_from_one_building_in_a_day_become_one_incident(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    await add_departments(client, t, "heating")
    ids = []
    for i in range(5):
        building = "3号楼" if i % 2 == 0 else " 3 号楼"  # spelled differently, same building
        r = await client.post(
            "/api/v1/cases",
            json=case_body(
                "heating",
                {"estate": "幸福小区", "building": building, "room": f"{i + 1}01"},
                cause=f"{i + 1}01 室暖气不热",
                visitor={"name": f"住户{i}", "phone": f"1380013800{i}"},
            ),
            headers=t.headers(),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        assert ("incident" in r.json()["flags"]) == (i == 4)
    # Another building does not join the incident.
    r = await client.post(
        "/api/v1/cases",
        json=case_body("heating", {"estate": "幸福小区", "building": "5号楼"}, cause="5号楼不热"),
        headers=t.headers(),
    )
    assert "incident" not in r.json()["flags"]
    for case_id in ids:
        r = await client.get(f"/api/v1/cases/{case_id}", headers=t.headers())
        assert r.json()["flags"]["incident"]["lead_case_id"] == ids[0]
    lead = await client.get(f"/api/v1/cases/{ids[0]}", headers=t.headers())
    assert "incident_linked" in [e["kind"] for e in lead.json()["events"]]
    async with tenant_tx(t.id, write=False):
        alerts = await Outbox.select(Outbox.recipient_id).where(
            (Outbox.tenant_id == t.id) & (Outbox.kind == "incident.detected")
        )
    assert [a["recipient_id"] for a in alerts] == [t.users["leader"]["id"]]
    # Delivered, the leader's message says what happened and opens the lead case's page.
    await run_tick(rt, tenants=[t.id])
    inbox = await client.get("/api/v1/inbox", headers=t.headers("leader"))
    (msg,) = [m for m in inbox.json()["items"] if m["kind"] == "incident.detected"]
    assert msg["title"].startswith("【集中投诉】") and "5 件投诉" in msg["body"]
    assert msg["link"] == f"/cases/{ids[0]}"


async def test_billing_dispute_carries_amount_and_period(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    deps = await add_departments(client, t, "billing")
    base = {"account_number": "HX-20331", "utility": "heating"}
    r = await client.post("/api/v1/cases", json=case_body("fees", base), headers=t.headers())
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "form.disputed_amount"
    bad = {**base, "disputed_amount": "1200", "billing_period": "2026-03~2025-11"}
    r = await client.post("/api/v1/cases", json=case_body("fees", bad), headers=t.headers())
    assert r.json()["error"]["code"] == "billing_period_invalid"
    good = {**base, "disputed_amount": "1200.5", "billing_period": "2025-11~2026-03"}
    r = await client.post("/api/v1/cases", json=case_body("fees", good), headers=t.headers())
    assert r.status_code == 201, r.text
    assert r.json()["department_id"] == deps["billing"]
    assert r.json()["flags"]["billing_dispute"] == {"amount": 1200.5, "period": "2025-11~2026-03"}
    r = await client.post(
        "/api/v1/cases", json=case_body("fees", {**good, "colour": "red"}), headers=t.headers()
    )
    assert r.json()["error"]["code"] == "unknown_form_field"


# --- court -----------------------------------------------------------------------


async def test_court_case_number_is_validated_with_clear_errors(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("court",))
    for number, code in [
        ("2024京0105民初12345号", "case_number_format"),
        ("(2024)京0105民X12345号", "case_number_type"),
        ("(2024)京015民初12345号", "case_number_court"),
    ]:
        r = await client.post(
            "/api/v1/cases",
            json=case_body("execution", {"case_number": number, "seeks": "complaint"}),
            headers=t.headers(),
        )
        assert r.status_code == 422, number
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["field"] == "form.case_number"
        assert "(2024)京0105民初12345号" in r.json()["error"]["message"]  # shows the shape
    r = await client.post(
        "/api/v1/cases",
        json=case_body("execution", {"case_number": "(2024)京0105民初1号", "seeks": "complaint"}),
        headers=t.headers(),
    )
    assert r.json()["error"]["code"] == "case_type_mismatch"


async def test_court_routes_by_case_type(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("court",))
    deps = await add_departments(client, t, "filing", "execution", "civil1")
    await client.put(
        "/api/v1/admin/plugins/court",
        json={"config": {"departments": {"trial": "civil1"}}},
        headers=t.headers("admin"),
    )
    cases = [
        ("execution", "（2023）京0105执 888号", "execution"),
        ("retrial", "(2023)京01民申77号", "filing"),
        ("retrial", "(2024)京0105民初12号", "civil1"),
    ]
    for category, number, dept in cases:
        r = await client.post(
            "/api/v1/cases",
            json=case_body(category, {"case_number": number, "seeks": "complaint"}, cause=number),
            headers=t.headers(),
        )
        assert r.status_code == 201, r.text
        assert r.json()["department_id"] == deps[dept], number
        assert r.json()["status"] == "registered"
    assert r.json()["form"]["case_number"] == "(2024)京0105民初12号"
    assert r.json()["form"]["division"] == "trial"


async def test_litigation_request_is_redirected_with_a_notice_naming_the_channel(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("court",))
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "appeal", {"case_number": "(2024)京0105民初5号", "seeks": "change_judgment"}
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "not_accepted"
    redirected = [e for e in case["events"] if e["kind"] == "redirected"]
    assert redirected and redirected[0]["data"]["channel"] == "上诉"
    assert "上诉状" in redirected[0]["data"]["notice"]
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "retrial",
            {"case_number": "(2023)京01民终9号", "seeks": "change_judgment"},
            cause="二审判决错误",
        ),
        headers=t.headers(),
    )
    event = next(e for e in r.json()["events"] if e["kind"] == "redirected")
    assert event["data"]["channel"] == "申请再审" and "六个月" in event["data"]["notice"]


async def test_court_clocks_exist_only_for_court_tenants(make_tenant: Any, rt: Any) -> None:
    court = await make_tenant(plugins=("court",))
    bare = await make_tenant()
    clocks = sector.extra_clocks(court.scope(rt), await tenants.get_tenant(court.scope(rt)))
    assert set(clocks) == {"retrial_petition"}  # execution objections: see docs/plugins.md
    assert clocks["retrial_petition"].title_zh.endswith("六个月）")
    assert clocks["retrial_petition"].petitioner  # the petitioner's window, not a staff duty
    assert sector.extra_clocks(bare.scope(rt), await tenants.get_tenant(bare.scope(rt))) == {}


async def test_retrial_petition_starts_the_six_month_clock(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("court",))
    form = {
        "case_number": "(2026)京01民终3号",
        "seeks": "complaint",
        "effective_date": "2026-06-01",
    }
    r = await client.post("/api/v1/cases", json=case_body("retrial", form), headers=t.headers())
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/cases/{r.json()['id']}/deadlines", headers=t.headers())
    clock = next(c for c in r.json() if c["clock"] == "retrial_petition")
    assert str(clock["started_on"]) == "2026-06-01"
    assert str(clock["due"]) == "2026-12-01"  # six months: the corresponding day


# --- police ----------------------------------------------------------------------


async def test_complaint_against_an_officer_goes_to_inspection_hidden_from_them(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.services import users

    t = await make_tenant(plugins=("police",))
    deps = await add_departments(client, t, "inspection", "station-hx")
    officer = await users.create_user(
        t.scope(rt),
        username="031234",
        display_name="涉诉民警",
        password="pw-123456789",
        roles=["handler"],
        department_id=deps["station-hx"],
    )
    colleague = await users.create_user(
        t.scope(rt),
        username="colleague",
        display_name="同所民警",
        password="pw-123456789",
        roles=["handler"],
        department_id=deps["station-hx"],
    )
    heads = {}
    for u in (officer, colleague):
        token = (await users.create_token(t.scope(rt), u.id, name="t")).token
        heads[u.username] = {"Authorization": f"Bearer {token}"}
    form = {"officer_badge": "031234", "officer_unit": "station-hx"}
    r = await client.post(
        "/api/v1/cases", json=case_body("officer_conduct", form), headers=t.headers()
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["department_id"] == deps["inspection"]
    assert case["flags"]["against_officer"] is True
    for who in heads.values():
        assert (await client.get(f"/api/v1/cases/{case['id']}", headers=who)).status_code == 404
        listed = (await client.get("/api/v1/cases", headers=who)).json()["items"]
        assert case["id"] not in [c["id"] for c in listed]
        told = await client.post(  # a plugin route acts as its caller: hidden is unknown
            f"/api/v1/plugins/police/cases/{case['id']}/result-told",
            json={"method": "phone"},
            headers=who,
        )
        assert told.status_code == 404 and told.json()["error"]["code"] == "case_not_found"
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=t.headers("supervisor"))
    assert r.status_code == 200
    bad = {"officer_badge": "31234", "officer_unit": "station-hx"}
    r = await client.post(
        "/api/v1/cases", json=case_body("officer_conduct", bad), headers=t.headers()
    )
    assert r.json()["error"]["field"] == "form.officer_badge"


async def test_first_visit_stays_with_station_repeat_goes_to_branch(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("police",))
    deps = await add_departments(client, t, "station-hx", "branch-office")
    await client.put(
        "/api/v1/admin/plugins/police",
        json={"config": {"branch_code": "branch-office"}},
        headers=t.headers("admin"),
    )
    visitor = {"name": "赵六", "phone": "13912345678"}
    first = await client.post(
        "/api/v1/cases",
        json=case_body(
            "household", {"station": "station-hx"}, visitor=visitor, cause="户口迁移办理未果"
        ),
        headers=t.headers(),
    )
    assert first.json()["department_id"] == deps["station-hx"]
    assert first.json()["flags"]["visit_level"] == "station"
    again = await client.post(
        "/api/v1/cases",
        json=case_body(
            "household", {"station": "station-hx"}, visitor=visitor, cause="户口迁移仍未办理"
        ),
        headers=t.headers(),
    )
    assert again.status_code == 201, again.text
    assert again.json()["department_id"] == deps["branch-office"]
    assert again.json()["flags"]["visit_level"] == "branch"


async def test_police_case_cannot_close_before_the_result_is_told(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("police",))
    r = await client.post("/api/v1/cases", json=case_body("traffic"), headers=t.headers())
    case_id = r.json()["id"]
    r = await client.post(f"/api/v1/cases/{case_id}/actions/accept", json={}, headers=t.headers())
    assert r.status_code == 200, r.text
    close = {"opinion": "explain", "opinion_text": "已向信访人解释说明相关规定。"}
    r = await client.post(
        f"/api/v1/cases/{case_id}/actions/close", json=close, headers=t.headers("leader")
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "result_not_told"
    assert "结果告知" in r.json()["error"]["message"]
    r = await client.post(
        f"/api/v1/plugins/police/cases/{case_id}/result-told",
        json={"method": "phone", "note": "电话告知本人"},
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/cases/{case_id}/actions/close", json=close, headers=t.headers("leader")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"


async def test_handover_of_disruptive_behaviour_is_recorded(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("police",))
    r = await client.post("/api/v1/cases", json=case_body("public_order"), headers=t.headers())
    case_id = r.json()["id"]
    r = await client.post(
        f"/api/v1/plugins/police/cases/{case_id}/handover",
        json={
            "behaviour": "disruptive",
            "receiving_officer": "值班民警 王某",
            "at": "2020-01-01T10:00:00",
        },
        headers=t.headers(),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "at"
    r = await client.post(
        f"/api/v1/plugins/police/cases/{case_id}/handover",
        json={"behaviour": "disruptive", "receiving_officer": "值班民警 王某"},
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    events = (await client.get(f"/api/v1/cases/{case_id}", headers=t.headers())).json()["events"]
    handover = next(e for e in events if e["kind"] == "handover")
    assert handover["data"]["receiving_officer"] == "值班民警 王某"
    assert handover["data"]["at"]
    assert handover["actor_id"] == t.users["clerk"]["id"]
