"""The plugin platform through the API: per-tenant enablement and settings, categories
and forms, plugin routes answering 404 where off, contained plugin failures, and the
third-party example plugin installed by entry point."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.hookspecs import hookimpl

pytestmark = pytest.mark.asyncio


def case_body(category: str, form: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "visit",
        "cause": extra.pop("cause", f"关于{category}的诉求"),
        "visitor": extra.pop("visitor", {"name": "测试人", "phone": "13800138000"}),
        "category": category,
        "form": form or {},
        **extra,
    }


async def categories(client: Any, t: Any) -> set[str]:
    r = await client.get("/api/v1/categories", headers=t.headers())
    assert r.status_code == 200, r.text
    return {c["code"] for c in r.json()}


async def test_two_tenants_with_different_plugins_see_only_their_own(
    client: Any, make_tenant: Any
) -> None:
    court = await make_tenant(plugins=("court",))
    police = await make_tenant(plugins=("police",))
    bare = await make_tenant()

    async def probe(t: Any) -> tuple[set[str], int, int]:
        cats = await categories(client, t)
        r = await client.post(
            "/api/v1/plugins/police/cases/1/result-told",
            json={"method": "phone"},
            headers=t.headers(),
        )
        foreign = await client.post(
            "/api/v1/cases", json=case_body("appeal", {}), headers=t.headers()
        )
        return cats, r.status_code, foreign.status_code

    results = await asyncio.gather(*(probe(t) for t in (court, police, bare) * 4))
    for i, (cats, route_status, appeal_status) in enumerate(results):
        kind = i % 3
        if kind == 0:  # court
            assert {"general", "appeal", "retrial", "execution", "conduct"} <= cats
            assert "officer_conduct" not in cats and "heating" not in cats
            assert route_status == 404  # police route: plugin not enabled here
            assert appeal_status == 422  # its form is required (case_number)
        elif kind == 1:  # police
            assert "officer_conduct" in cats and "appeal" not in cats
            assert route_status == 404  # case 1 is not this tenant's (or hidden)
            assert appeal_status == 422
        else:
            assert cats == {"general"}
            assert route_status == 404
            assert appeal_status == 422
    r = await client.post("/api/v1/cases", json=case_body("appeal", {}), headers=bare.headers())
    assert r.json()["error"]["code"] == "unknown_category"
    r = await client.post(
        "/api/v1/plugins/police/cases/1/result-told",
        json={"method": "phone"},
        headers=court.headers(),
    )
    assert r.json()["error"]["code"] == "plugin_not_enabled"


async def test_admin_enables_configures_and_disables_a_plugin_per_tenant(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    r = await client.get("/api/v1/admin/plugins", headers=t.headers("admin"))
    assert r.status_code == 200
    assert {p["name"] for p in r.json()} >= {"court", "police", "enterprise_logistics"}
    assert not any(p["enabled"] for p in r.json())

    r = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics", json={"enabled": True}, headers=t.headers()
    )
    assert r.status_code == 403
    r = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"enabled": True, "config": {"temp_standard": 20}},
        headers=t.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is True
    assert r.json()["config"]["temp_standard"] == 20
    assert r.json()["config"]["cluster_threshold"] == 5  # default kept
    assert "heating" in await categories(client, t)
    assert "heating" not in await categories(client, other)

    r = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"config": {"temp_standard": 50}},
        headers=t.headers("admin"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "temp_standard_range"
    r = await client.put(
        "/api/v1/admin/plugins/nope", json={"enabled": True}, headers=t.headers("admin")
    )
    assert r.status_code == 404

    r = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"enabled": False},
        headers=t.headers("admin"),
    )
    assert r.json()["enabled"] is False
    assert "heating" not in await categories(client, t)
    r = await client.get("/api/v1/categories/heating/form", headers=t.headers())
    assert r.status_code == 422


async def test_category_form_schema_is_shaped_like_open311_attributes(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    r = await client.get("/api/v1/categories/fees/form", headers=t.headers())
    assert r.status_code == 200, r.text
    fields = {f["code"]: f for f in r.json()["fields"]}
    assert fields["disputed_amount"]["datatype"] == "number"
    assert fields["disputed_amount"]["required"] is True
    assert {v["key"] for v in fields["utility"]["values"]} >= {"heating", "water"}
    assert fields["billing_period"]["datatype_description"]
    assert fields["account_number"]["pii"] is True  # xinfang_pii_fields
    assert fields["disputed_amount"]["pii"] is False
    assert [f["order"] for f in r.json()["fields"]] == sorted(
        f["order"] for f in r.json()["fields"]
    )


class _Faulty:
    """A plugin whose routing hook crashes."""

    @hookimpl
    def xinfang_categories(self) -> list[dict[str, Any]]:
        return [{"code": "faulty_cat", "title_zh": "故障类别", "group": "测试"}]

    @hookimpl
    def xinfang_route_case(self, data: Any) -> dict[str, Any]:
        raise RuntimeError("boom")


async def test_a_crashing_hook_names_the_plugin_and_leaves_other_tenants_alone(
    client: Any, make_tenant: Any, rt: Any, caplog: Any
) -> None:
    rt.plugins.register("faulty", _Faulty())
    try:
        broken = await make_tenant(plugins=("faulty",))
        fine = await make_tenant(plugins=("court",))
        r = await client.post("/api/v1/cases", json=case_body("general"), headers=broken.headers())
        assert r.status_code == 502
        err = r.json()["error"]
        assert err["code"] == "plugin_failed"
        assert "faulty" in err["message"]
        assert err["details"]["plugin"] == "faulty"
        assert any("faulty" in rec.getMessage() for rec in caplog.records)
        r = await client.post("/api/v1/cases", json=case_body("general"), headers=fine.headers())
        assert r.status_code == 201, r.text
        # Nothing half-written for the broken tenant.
        r = await client.get("/api/v1/cases", headers=broken.headers())
        assert r.json()["items"] == []
    finally:
        rt.plugins.unregister("faulty")


async def test_example_third_party_plugin_adds_a_category_form_and_routing(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    assert rt.plugins.is_installed("housing"), "pip install -e examples/xinfang-housing"
    module = rt.plugins.modules["housing"]
    assert module.__name__ == "xinfang_housing"  # loaded from its own package
    t = await make_tenant(plugins=("housing",))
    r = await client.post(
        "/api/v1/departments",
        json={"code": "housing", "name": "房管科"},
        headers=t.headers("admin"),
    )
    housing_id = r.json()["id"]
    r = await client.get("/api/v1/categories/housing_repair/form", headers=t.headers())
    assert [f["code"] for f in r.json()["fields"]] == ["estate", "building", "room", "repair_type"]
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "housing_repair", {"estate": "幸福里", "building": "2", "repair_type": "pipe"}
        ),
        headers=t.headers(),
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "form.repair_type"
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "housing_repair", {"estate": "幸福里", "building": "2", "repair_type": "leak"}
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["department_id"] == housing_id
    assert case["urgency"] == "high"
    assert case["form"]["repair_type"] == "leak"


async def test_sector_lists_come_from_enabled_plugins_only(client: Any, make_tenant: Any) -> None:
    court = await make_tenant(plugins=("court",))
    bare = await make_tenant()
    r = await client.get("/api/v1/sector/rota-templates", headers=court.headers())
    assert len(r.json()) == 4 and all(x["plugin"] == "court" for x in r.json())
    r = await client.get("/api/v1/sector/rota-templates", headers=bare.headers())
    assert r.json() == []
    r = await client.get("/api/v1/sector/documents", headers=court.headers())
    assert "litigation_redirect_notice" in {d["code"] for d in r.json()}
    r = await client.get("/api/v1/sector/nope", headers=court.headers())
    assert r.status_code == 404
