"""The staff API end to end on both engines: registration, lists, tenancy, roles, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import valid_id_number

pytestmark = pytest.mark.asyncio


def case_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "visit",
        "visitor": {
            "name": "张三",
            "id_number": valid_id_number(),
            "phone": "13812345678",
            "address": "朝阳区幸福小区 3 号楼 2 单元 301 室",
        },
        "cause": "暖气不热，室温只有 15 度",
        "demand": "尽快维修",
        "locality": "朝阳区",
    }
    body.update(over)
    return body


async def test_health_and_readiness_report_database_and_redis(client: Any) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_openapi_schema_lists_staff_endpoints(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/v1/cases",
        "/api/v1/visitors",
        "/api/v1/sessions",
        "/api/v1/departments",
        "/api/v1/users",
    ):
        assert path in schema["paths"], path


async def test_clerk_registers_a_visit_and_lists_it_masked(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    resp = await client.post("/api/v1/cases", json=case_body(), headers=t.headers("clerk"))
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["status"] == "registered"
    assert case["visitor"]["id_number"].startswith("110105") and "*" in case["visitor"]["id_number"]
    assert case["visitor"]["phone"] == "138****5678"
    assert [e["kind"] for e in case["events"]] == ["registered"]
    listing = (await client.get("/api/v1/cases", headers=t.headers("clerk"))).json()
    assert [c["id"] for c in listing["items"]] == [case["id"]]
    raw = (await client.get("/api/v1/cases", headers=t.headers("clerk"))).text
    assert valid_id_number() not in raw and "13812345678" not in raw


async def test_same_person_is_recognised_by_id_number(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    a = (await client.post("/api/v1/cases", json=case_body(), headers=t.headers())).json()
    body = case_body()
    body["visitor"] = {"name": "张三", "id_number": valid_id_number().lower()}
    b = (await client.post("/api/v1/cases", json=body, headers=t.headers())).json()
    assert a["visitor"]["id"] == b["visitor"]["id"]
    person = (
        await client.get(f"/api/v1/visitors/{a['visitor']['id']}", headers=t.headers())
    ).json()
    assert [c["id"] for c in person["cases"]] == [a["id"], b["id"]]
    found = (
        await client.get(
            "/api/v1/visitors", params={"id_number": valid_id_number()}, headers=t.headers()
        )
    ).json()
    assert [v["id"] for v in found] == [a["visitor"]["id"]]


async def test_keyset_pagination_walks_all_cases_once(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    ids = []
    for i in range(5):
        body = case_body(visitor={"name": f"访客{i}", "phone": f"1381234560{i}"})
        ids.append(
            (await client.post("/api/v1/cases", json=body, headers=t.headers())).json()["id"]
        )
    seen: list[int] = []
    after = None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = (await client.get("/api/v1/cases", params=params, headers=t.headers())).json()
        seen += [c["id"] for c in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(ids, reverse=True)


async def test_another_tenants_objects_answer_404(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    case = (await client.post("/api/v1/cases", json=case_body(), headers=a.headers())).json()
    for path in (
        f"/api/v1/cases/{case['id']}",
        f"/api/v1/visitors/{case['visitor']['id']}",
        f"/api/v1/departments/{a.departments['petition']}",
        f"/api/v1/users/{a.users['clerk']['id']}",
    ):
        headers = b.headers("admin")
        resp = await client.get(path, headers=headers)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["error"]["code"].endswith("not_found")
    listing = (await client.get("/api/v1/cases", headers=b.headers())).json()
    assert listing["items"] == []
    # A foreign department id in a body is "unknown", not a cross-tenant link.
    body = case_body(department_id=a.departments["petition"])
    resp = await client.post("/api/v1/cases", json=body, headers=b.headers())
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "department_id"


async def test_roles_are_enforced_per_endpoint(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    user = {
        "username": "newbie",
        "display_name": "新人",
        "password": "long-enough-pw",
        "roles": ["clerk"],
    }
    denied = await client.post("/api/v1/users", json=user, headers=t.headers("handler"))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "role_required"
    assert (
        await client.post("/api/v1/cases", json=case_body(), headers=t.headers("handler"))
    ).status_code == 403
    ok = await client.post("/api/v1/users", json=user, headers=t.headers("admin"))
    assert ok.status_code == 201, ok.text
    assert "password" not in ok.text and "hash" not in ok.text


async def test_reception_session_with_leader(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = {
        "day": "2026-11-30",
        "half": "am",
        "starts_at": "08:30",
        "ends_at": "11:30",
        "place": "一楼接待室",
        "topics": ["供暖"],
        "leader_id": t.users["leader"]["id"],
    }
    resp = await client.post("/api/v1/sessions", json=body, headers=t.headers("supervisor"))
    assert resp.status_code == 201, resp.text
    bad = dict(body, leader_id=t.users["clerk"]["id"])
    resp = await client.post("/api/v1/sessions", json=bad, headers=t.headers("supervisor"))
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "leader_id"
    listed = (
        await client.get(
            "/api/v1/sessions", params={"start": "2026-11-30"}, headers=t.headers("leader")
        )
    ).json()
    assert [s["place"] for s in listed] == ["一楼接待室"]
