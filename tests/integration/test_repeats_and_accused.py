"""Repeat detection binds the same petitioner on the same facts (a neighbour's matter is
related, never refused); the accused (检举控告) learn nothing — not from repeat
detection, routing or counts, and not when their account is created after the
complaint. Through the API on both engines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.settings import TIMEZONE
from tests.conftest import valid_id_number
from tests.integration.test_lifecycle import act, body, register
from tests.integration.test_plugin_platform import case_body
from tests.integration.test_plugin_sectors import add_departments

pytestmark = pytest.mark.asyncio
NEIGHBOUR = {"name": "王五", "id_number": valid_id_number(seq=555), "phone": "13900002222"}


async def staff(
    client: Any, rt: Any, t: Any, username: str, roles: list[str], **extra: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """An account the admin creates through the API now, and its bearer headers."""
    from core.services import users

    r = await client.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": username,
            "password": "pw-123456789",
            "roles": roles,
            **extra,
        },
        headers=t.headers("admin"),
    )
    assert r.status_code == 201, r.text
    user = r.json()
    token, _ = await users.create_token(t.scope(rt), user["id"], name="t")
    return user, {"Authorization": f"Bearer {token}"}


async def drive_to_final(client: Any, t: Any, case_id: int) -> dict[str, Any]:
    await act(client, t, case_id, "accept", "clerk")
    await act(client, t, case_id, "close", "leader", opinion="explain", opinion_text="已解释")
    await act(client, t, case_id, "request_review", "clerk", reason="不服")
    await act(client, t, case_id, "decide_review", "leader", opinion="explain", opinion_text="维持")
    await act(client, t, case_id, "request_rereview", "clerk", reason="仍不服")
    case = await act(
        client, t, case_id, "decide_rereview", "leader", opinion="explain", opinion_text="终结"
    )
    assert case["status"] == "final"
    return case


def mentions(answer: Any, *cases: dict[str, Any]) -> bool:
    text = json.dumps(answer, ensure_ascii=False)
    return any(c["receipt_code"] in text for c in cases)


# --- issue 10.1: finality binds the same petitioner, a neighbour is only related --------


async def test_neighbours_similar_matter_is_related_not_refused_nor_a_repeat(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    a = await register(client, t)  # 李四, heating at 幸福小区3号楼
    final = await drive_to_final(client, t, a["id"])

    b = await client.post("/api/v1/cases", json=body(visitor=NEIGHBOUR), headers=t.headers())
    assert b.status_code == 201, b.text
    b = b.json()
    assert b["visit_kind"] == "first" and b["repeat_of_id"] is None
    assert "repeat" not in b["flags"]
    assert [r["of"] for r in b["flags"]["related"]] == [final["receipt_code"]]
    for _ in range(3):  # the neighbour's own later visits are their repeats, of their matter
        again = await register(client, t, visitor=NEIGHBOUR)
        assert again["flags"]["repeat"]["of"] != final["receipt_code"]
    who = (await client.get(f"/api/v1/visitors/{b['visitor_id']}", headers=t.headers())).json()
    assert who["flags"]["veteran"]["repeats"] == 3  # A's final matter is not counted

    same = await client.post("/api/v1/cases", json=body(), headers=t.headers())
    assert same.status_code == 409 and same.json()["error"]["code"] == "matter_final"


async def test_police_repeat_is_the_same_matter_not_any_earlier_case(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("police",))
    await add_departments(client, t, "station-hx", "petition-branch")
    await client.put(
        "/api/v1/admin/plugins/police",
        json={"config": {"branch_code": "petition-branch"}},
        headers=t.headers("admin"),
    )
    visitor = {"name": "赵六", "phone": "13912345678"}

    async def level(category: str, cause: str, who: dict[str, str] = visitor) -> str:
        r = await client.post(
            "/api/v1/cases",
            json=case_body(category, {"station": "station-hx"}, visitor=who, cause=cause),
            headers=t.headers(),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["flags"]["visit_level"])

    assert await level("household", "户口迁移办理未果") == "station"
    assert await level("traffic", "交通事故责任认定不服") == "station"  # another category
    assert await level("household", "身份证丢失补办咨询") == "station"  # other facts
    neighbour = {"name": "钱七", "phone": "13912345679"}
    assert await level("household", "户口迁移办理未果", neighbour) == "station"
    assert await level("household", "户口迁移仍未办理") == "branch"  # the same matter


# --- issue 11.1 b–d: the accused learn nothing ---------------------------------------


async def test_accused_registering_a_similar_matter_gets_no_hint_of_the_hidden_one(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    accused, as_accused = await staff(
        client, rt, t, "clerk2", ["clerk"], department_id=t.departments["petition"]
    )
    accusation = {
        "legal_category": "accusation",
        "purpose": "accusation",
        "accused": {"user_ids": [accused["id"]]},
        "cause": "接访人员吃拿卡要，索要好处费",
    }
    hidden = [await register(client, t, **accusation) for _ in range(4)]
    assert hidden[1]["flags"]["repeat"]["of"] == hidden[0]["receipt_code"]  # seen by others

    # An open matter a colleague registers never names a hidden one to the accused.
    other = await register(client, t, cause="接访人员吃拿卡要，要求退还好处费")
    assert other["visit_kind"] == "first" and not mentions(other["flags"], *hidden)
    assert other["repeat_of_id"] is None  # the clerk still sees them in earlier_matters
    shown = await client.get(f"/api/v1/cases/{other['id']}", headers=as_accused)
    assert shown.status_code == 200 and not mentions(shown.json(), *hidden)

    await drive_to_final(client, t, hidden[0]["id"])
    r = await client.post("/api/v1/cases", json=body(cause=accusation["cause"]), headers=as_accused)
    assert r.status_code == 201, r.text  # not refused: a refusal would name the final one
    mine = r.json()
    assert mine["flags"]["repeat"]["of"] == other["receipt_code"]  # the one they may see
    assert [m["id"] for m in mine["earlier_matters"]] == [other["id"]]
    assert not mentions(mine, *hidden) and "veteran" not in mine["visitor"]["flags"]
    for path in ("/api/v1/cases", "/api/v1/visitors", f"/api/v1/visitors/{mine['visitor_id']}"):
        seen = (await client.get(path, headers=as_accused)).json()
        assert not mentions(seen, *hidden), path
        assert "veteran" not in json.dumps(seen), path  # 3 hidden repeats are not counted

    # Those who may see both learn of the new matters on the hidden one.
    first = (
        await client.get(f"/api/v1/cases/{hidden[0]['id']}", headers=t.headers("supervisor"))
    ).json()
    linked = [e["data"] for e in first["events"] if e["kind"] == "similar_registered"]
    assert [x["case_id"] for x in linked] == [other["id"], mine["id"]]
    assert linked[1]["receipt_code"] == mine["receipt_code"]

    # A clerk who may see the final one is still refused: finality binds the petitioner.
    refused = await client.post(
        "/api/v1/cases", json=body(cause=accusation["cause"]), headers=t.headers()
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "matter_final"
    assert hidden[0]["receipt_code"] in refused.json()["error"]["message"]


async def test_officer_account_created_after_the_complaint_never_sees_it(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("police",))
    deps = await add_departments(client, t, "inspection", "station-hx", "station-hd")
    complainant = {"name": "孙八", "phone": "13711112222"}
    cause = "民警出警时态度恶劣并推搡群众"
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "officer_conduct",
            {"officer_badge": "031234", "officer_unit": "station-hx"},
            visitor=complainant,
            cause=cause,
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert "031234" not in json.dumps(case["flags"]) and "031234" not in str(case.get("accused"))

    # Created afterwards: the officer, moved to another unit, badge as title; and a new
    # member of the accused unit.
    officer, as_officer = await staff(
        client,
        rt,
        t,
        "wang",
        ["clerk", "handler"],
        title="031234",
        department_id=deps["station-hd"],
    )
    _, as_unit = await staff(client, rt, t, "li", ["handler"], department_id=deps["station-hx"])
    await act(client, t, case["id"], "accept", "clerk")
    today = rt.clock.now().astimezone(TIMEZONE).date().isoformat()
    await act(client, t, case["id"], "notify", "clerk", channel="in_person", given_on=today)
    err = await act(client, t, case["id"], "start_handling", "clerk", 422, handler_id=officer["id"])
    assert err["error"]["code"] == "recused"
    told = await client.post(
        f"/api/v1/plugins/police/cases/{case['id']}/result-told",
        json={"method": "phone"},
        headers=t.headers(),
    )
    assert told.status_code == 201, told.text
    await act(client, t, case["id"], "close", "leader", opinion="explain", opinion_text="已核查")
    await act(client, t, case["id"], "archive", "clerk")
    visitor_id = case["visitor_id"]
    vols = await client.get(f"/api/v1/visitors/{visitor_id}/archive", headers=t.headers())
    assert vols.json()[0]["matters"][0]["id"] == case["id"]

    for who in (as_officer, as_unit):
        cid = case["id"]
        assert (await client.get(f"/api/v1/cases/{cid}", headers=who)).status_code == 404
        assert (await client.get(f"/api/v1/cases/{cid}/deadlines", headers=who)).status_code == 404
        listed = (await client.get("/api/v1/cases", headers=who)).json()["items"]
        assert cid not in [c["id"] for c in listed]
        person = (await client.get(f"/api/v1/visitors/{visitor_id}", headers=who)).json()
        assert person["cases"] == []
        archive = await client.get(f"/api/v1/visitors/{visitor_id}/archive", headers=who)
        assert archive.status_code == 200 and archive.json() == []
        for step, data in (
            ("result-told", {"method": "phone"}),
            ("handover", {"behaviour": "disruptive", "receiving_officer": "王某"}),
        ):
            r = await client.post(
                f"/api/v1/plugins/police/cases/{cid}/{step}", json=data, headers=who
            )
            assert r.status_code == 404, (step, r.text)
        r = await client.post(
            f"/api/v1/cases/{cid}/actions/follow_up",
            json={"note": "回访", "satisfaction": "satisfied"},
            headers=who,
        )
        assert r.status_code == 404

    # Registering for the same complainant gives the officer no hint of the complaint:
    # not named as a repeat, no branch routing for a first visit.
    same = await client.post(
        "/api/v1/cases",
        json=case_body(
            "officer_conduct",
            {"officer_badge": "045678", "officer_unit": "station-hx"},
            visitor=complainant,
            cause=cause,
        ),
        headers=as_officer,
    )
    assert same.status_code == 201, same.text
    assert same.json()["visit_kind"] == "first" and not mentions(same.json(), case)
    other = await client.post(
        "/api/v1/cases",
        json=case_body("household", {"station": "station-hd"}, visitor=complainant),
        headers=as_officer,
    )
    assert other.status_code == 201, other.text
    assert other.json()["flags"]["visit_level"] == "station"
