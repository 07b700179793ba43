"""Open311 GeoReport v2 in process, on both engines: services from the tenant's enabled
plugins, definitions from the form schema, keyed submission through the staff
registration service, public status by receipt code, XML, no leaks across tenants."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest

from core.services import open311

pytestmark = pytest.mark.asyncio


async def test_services_come_from_the_tenants_enabled_plugins(
    client: Any, make_tenant: Any
) -> None:
    heat = await make_tenant(plugins=("enterprise_logistics",))
    court = await make_tenant(plugins=("court",))
    r = await client.get(f"/open311/{heat.slug}/v2/services.json")
    assert r.status_code == 200
    codes = {s["service_code"]: s for s in r.json()}
    assert {"general", "heating", "fees"} <= set(codes) and "appeal" not in codes
    assert codes["heating"]["metadata"] is True and codes["general"]["metadata"] is False
    r = await client.get(f"/open311/{court.slug}/v2/services.json")
    assert "heating" not in {s["service_code"] for s in r.json()}
    r = await client.get(f"/open311/{court.slug}/v2/services/heating.json")
    assert r.status_code == 404  # not this tenant's service: unknown, like an unknown request
    assert r.json()[0]["code"] == 404
    r = await client.get("/open311/no-such-tenant/v2/services.json")
    assert r.status_code == 404

    r = await client.get(f"/open311/{heat.slug}/v2/services/heating.json")
    definition = r.json()
    assert definition["service_code"] == "heating"
    attrs = {a["code"]: a for a in definition["attributes"]}
    assert attrs["indoor_temp"]["datatype"] == "number"
    assert attrs["building"]["required"] is True
    assert all(a["variable"] is True for a in attrs.values())

    r = await client.get(f"/open311/{heat.slug}/v2/services.xml")
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.text)
    assert root.tag == "services"
    assert "heating" in [s.findtext("service_code") for s in root.findall("service")]


async def test_keyed_post_registers_an_online_case_for_staff(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    other = await make_tenant(plugins=("enterprise_logistics",))
    key = await open311.create_key(t.scope(rt))
    other_key = await open311.create_key(other.scope(rt))
    body = {
        "service_code": "heating",
        "description": "家里暖气不热，室温只有 16 度",
        "first_name": "建国",
        "last_name": "张",
        "phone": "138-0013-8000",
        "email": "zhang@example.cn",
        "attribute[building]": "3号楼",
        "attribute[indoor_temp]": "16",
    }
    url = f"/open311/{t.slug}/v2/requests.json"
    r = await client.post(url, data=body)
    assert r.status_code == 403
    r = await client.post(url, data={**body, "api_key": other_key})
    assert r.status_code == 403
    r = await client.post(url, data={**body, "api_key": key, "phone": "12345"})
    assert r.status_code == 422, r.text
    r = await client.post(url, data={**body, "api_key": key, "attribute[indoor_temp]": "hot"})
    assert r.status_code == 422
    r = await client.post(url, data={**body, "api_key": key})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]

    staff = (await client.get("/api/v1/cases", headers=t.headers())).json()["items"]
    case = next(c for c in staff if c["receipt_code"] == rid)
    assert case["channel"] == "online" and case["category"] == "heating"
    full = (await client.get(f"/api/v1/cases/{case['id']}", headers=t.headers())).json()
    assert full["visitor"]["name"] == "张建国"
    assert full["visitor"]["phone"] != "13800138000"  # masked for staff lists
    assert full["form"]["indoor_temp"] == 16
    submitted = next(e for e in full["events"] if e["kind"] == "open311_submitted")
    assert "zhang@example.cn" not in str(submitted["data"])  # stored encrypted
    assert (await client.get("/api/v1/cases", headers=other.headers())).json()["items"] == []

    r = await client.get(f"/open311/{t.slug}/v2/requests/{rid}.json")
    assert r.status_code == 200
    status = r.json()[0]
    assert status["status"] == "open" and status["service_code"] == "heating"
    assert "description" not in status and "张" not in str(status)
    r = await client.get(f"/open311/{other.slug}/v2/requests/{rid}.json")
    assert r.status_code == 404
    r = await client.get(f"/open311/{t.slug}/v2/requests.json")
    assert r.status_code == 403
    r = await client.get(f"/open311/{t.slug}/v2/requests.json", params={"api_key": key})
    assert [x["service_request_id"] for x in r.json()] == [rid]
    r = await client.get(f"/open311/{t.slug}/v2/requests.xml", params={"service_request_id": rid})
    assert ET.fromstring(r.text).find("request/service_request_id").text == rid  # type: ignore[union-attr]


async def test_court_litigation_via_open311_is_redirected_with_its_notice(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("court",))
    key = await open311.create_key(t.scope(rt))
    r = await client.post(
        f"/open311/{t.slug}/v2/requests.json",
        json={
            "api_key": key,
            "service_code": "appeal",
            "description": "一审判决不公，要求改判",
            "first_name": "某",
            "last_name": "李",
            "phone": "13900139000",
            "attribute": {"case_number": "(2024)京0105民初7号", "seeks": "change_judgment"},
        },
    )
    assert r.status_code == 201, r.text
    assert "上诉状" in r.json()[0]["service_notice"]
    rid = r.json()[0]["service_request_id"]
    r = await client.get(f"/open311/{t.slug}/v2/requests/{rid}.json")
    assert r.json()[0]["status"] == "closed"


async def test_open311_service_account_cannot_log_in(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.errors import NotAuthenticated
    from core.services import open311, users

    t = await make_tenant()
    await open311.create_key(t.scope(rt))
    account = next(
        u for u in await users.list_users(t.scope(rt)) if u["username"] == open311.SERVICE_USERNAME
    )
    assert account["active"] is False
    # Even a token minted for it directly is refused, and so is a session for it.
    token, _ = await users.create_token(t.scope(rt), account["id"], name="x")
    with pytest.raises(NotAuthenticated):
        await users.authenticate_token(rt, token)
    with pytest.raises(NotAuthenticated):
        await users.principal_for(t.scope(rt), account["id"])
