"""What the rota pages need besides the rota API's first operations, through the API on
SQLite and PostgreSQL: one template (read, edit with its key fixed), one slot, a preview
of generation that stores nothing and names the slots nobody is free for, and the
caller's active calendar links (the URL never again; a reset link stops the old one)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_rota_api import (
    API,
    add_leaders,
    clock,  # noqa: F401 - fixture
    leader_token,
    monday_body,
    setup_rota,
)

pytestmark = pytest.mark.asyncio


async def test_one_template_read_and_edited_key_fixed_other_tenant_404(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    leaders = await add_leaders(rt, t, 3)
    made = await client.post(
        f"{API}/templates", json=monday_body(leaders[:2]), headers=t.headers("admin")
    )
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    got = await client.get(f"{API}/templates/{tid}", headers=t.headers("clerk"))
    assert got.status_code == 200 and got.json() == made.json()
    assert (
        await client.get(f"{API}/templates/{tid}", headers=other.headers("admin"))
    ).status_code == 404

    body = monday_body(leaders, place="二楼会议室", weekdays=[0, 2], horizon_weeks=2)
    r = await client.put(f"{API}/templates/{tid}", json=body, headers=t.headers("clerk"))
    assert r.status_code == 403
    r = await client.put(f"{API}/templates/{tid}", json=body, headers=other.headers("admin"))
    assert r.status_code == 404
    r = await client.put(f"{API}/templates/{tid}", json=body, headers=t.headers("admin"))
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["place"] == "二楼会议室" and saved["weekdays"] == [0, 2]
    assert saved["leaders"] == leaders and saved["horizon_weeks"] == 2
    # The key stays (slot keys and iCal UIDs start with it); a refusal changes nothing.
    r = await client.put(
        f"{API}/templates/{tid}",
        json={**body, "key": "other", "place": "x"},
        headers=t.headers("admin"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "rota_key_fixed"
    assert r.json()["error"]["field"] == "key"
    r = await client.put(
        f"{API}/templates/{tid}",
        json={**body, "weekdays": [], "place": "x"},
        headers=t.headers("admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "weekdays"
    again = await client.get(f"{API}/templates/{tid}", headers=t.headers("admin"))
    assert again.json() == saved


async def test_preview_stores_nothing_and_matches_generation(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    await setup_rota(client, t, monday_body(leaders, horizon_weeks=4), generate=False)
    # Both leaders away on 12/10 and no standby: that day is unfilled.
    for user in leaders:
        r = await client.post(
            f"{API}/leave",
            json={"first_day": "2026-10-12", "last_day": "2026-10-12", "user_id": user},
            headers=t.headers("admin"),
        )
        assert r.status_code == 201, r.text
    r = await client.get(f"{API}/generate/preview", headers=t.headers("clerk"))
    assert r.status_code == 403
    r = await client.get(f"{API}/generate/preview", headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["start"] == "2026-09-20" and preview["until"] == "2026-10-18"
    days = sorted({s["day"] for s in preview["slots"]})
    assert days == ["2026-09-21", "2026-09-28", "2026-10-08"]  # 5/10 is National Day
    assert {s["day"] for s in preview["unfilled"]} == {"2026-10-12"}
    assert all(s["leader_id"] is None for s in preview["unfilled"])
    moved = [s for s in preview["slots"] if s["day"] == "2026-10-08"]
    assert moved and all(s["original_day"] == "2026-10-05" and s["note"] for s in moved)
    # Nothing stored, the rotation state untouched.
    assert (await client.get(f"{API}/slots", headers=t.headers("clerk"))).json() == []
    tpl = (await client.get(f"{API}/templates", headers=t.headers("clerk"))).json()[0]
    assert tpl["state"] == {}
    # Generation creates exactly what was previewed, leaders included.
    r = await client.post(f"{API}/generate", headers=t.headers("admin"))
    assert r.json() == {"created": len(preview["slots"]), "unfilled": len(preview["unfilled"])}
    stored = (await client.get(f"{API}/slots", headers=t.headers("clerk"))).json()
    assert {(s["slot_key"], s["leader_id"]) for s in stored} == {
        (s["key"], s["leader_id"]) for s in preview["slots"]
    }
    # Now there is nothing left to preview but the unfilled day; another tenant has none.
    again = (await client.get(f"{API}/generate/preview", headers=t.headers("admin"))).json()
    assert again["slots"] == [] and len(again["unfilled"]) == len(preview["unfilled"])
    empty = (await client.get(f"{API}/generate/preview", headers=other.headers("admin"))).json()
    assert empty["slots"] == [] and empty["until"] is None


async def test_one_slot_and_other_tenant_404(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    slots = await setup_rota(client, t, monday_body(leaders, horizon_weeks=2))
    first = slots[0]
    r = await client.get(f"{API}/slots/{first['id']}", headers=t.headers("clerk"))
    assert r.status_code == 200 and r.json() == first
    r = await client.get(f"{API}/slots/{first['id']}", headers=other.headers("admin"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "slot_not_found"


async def test_feed_links_listed_without_url_and_reset(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    await setup_rota(client, t, monday_body(leaders, horizon_weeks=2))
    assert (
        await client.post(f"{API}/publish", json={}, headers=t.headers("admin"))
    ).status_code == 200
    me = await leader_token(rt, t, leaders[0])
    assert (await client.get(f"{API}/feed-token", headers=t.headers("clerk"))).status_code == 403
    assert (await client.get(f"{API}/feed-token", headers=me)).json() == []
    made = (await client.post(f"{API}/feed-token", headers=me)).json()
    listed = (await client.get(f"{API}/feed-token", headers=me)).json()
    assert [x["id"] for x in listed] == [made["id"]]
    token = made["path"].rsplit("/", 1)[1].removesuffix(".ics")
    assert listed[0]["prefix"] == token[:8] and token not in str(listed)
    # Another leader sees only their own.
    other = await leader_token(rt, t, leaders[1])
    assert (await client.get(f"{API}/feed-token", headers=other)).json() == []
    # Reset as the page does: revoke, make a new one; the old link stops answering.
    assert (await client.get(made["path"])).status_code == 200
    assert (await client.delete(f"{API}/feed-token", headers=me)).json() == {"revoked": 1}
    fresh = (await client.post(f"{API}/feed-token", headers=me)).json()
    assert (await client.get(made["path"])).status_code == 404
    feed = await client.get(fresh["path"])
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert [x["id"] for x in (await client.get(f"{API}/feed-token", headers=me)).json()] == [
        fresh["id"]
    ]
