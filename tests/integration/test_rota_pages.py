"""The rota pages in process, on SQLite and PostgreSQL: who may open and post what (the
API's guards; the CSRF token); a refused form comes back with the message at its field
(422) or, for a clash, a clear message (409) and nothing saved; a leader without the
scheduler's roles sees their own days on /rota."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.test_admin_pages import HTML, another, at_field, post, signed_in
from tests.integration.test_rota_api import (
    API,
    add_leaders,
    clock,  # noqa: F401 - fixture
    monday_body,
    setup_rota,
)

pytestmark = pytest.mark.asyncio


def template_form(leaders: list[int], **over: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "key": "monday",
        "title_zh": "领导信访接待日",
        "role": "leader_day",
        "pattern": "weekly",
        "weekdays": ["0"],
        "slots[0].half": "am",
        "slots[0].start": "08:30",
        "slots[0].end": "11:30",
        "slots[1].half": "",
        "slots[1].start": "",
        "slots[1].end": "",
        "place": "一楼接待大厅",
        "topics": "供热、物业",
        "leaders": [str(i) for i in leaders],
        "holiday_policy": "next_workday",
        "leaders_per_slot": "1",
        "same_leader_whole_day": "true",
        "horizon_weeks": "2",
    }
    form.update(over)
    return form


async def test_who_may_open_and_post(client: Any, make_tenant: Any, rt: Any, clock: Any) -> None:  # noqa: F811
    t = await make_tenant()
    clerk = await signed_in(client, t.slug, "clerk")
    page = await client.get("/rota", headers=HTML)
    assert page.status_code == 200 and "我的接访日" in page.text and "排班模板" not in page.text
    for path in ("/rota/generate", "/rota/templates/new", "/rota/slots/1"):
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    for path in ("/rota/generate", "/rota/publish", "/rota/templates", "/rota/changes/1/approve"):
        assert (await post(client, path, clerk, {})).status_code == 403, path
    # A supervisor schedules (generate, publish) but neither makes templates nor decides.
    sup = another(client)
    token = await signed_in(sup, t.slug, "supervisor")
    page = await sup.get("/rota", headers=HTML)
    assert page.status_code == 200 and "排班模板" in page.text and "新建排班模板" not in page.text
    assert (await sup.get("/rota/generate", headers=HTML)).status_code == 200
    assert (await post(sup, "/rota/templates", token, {})).status_code == 403
    # No CSRF token, no write.
    admin = another(client)
    await signed_in(admin, t.slug, "admin")
    assert (await post(admin, "/rota/generate", None, {})).status_code == 403


async def test_template_refusals_stand_at_their_fields(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    token = await signed_in(client, t.slug, "admin")
    bad = template_form(leaders, **{"slots[0].end": "08:00"})
    r = await post(client, "/rota/templates", token, bad)
    assert r.status_code == 422
    assert at_field(r.text, "f-slots-0-end", "结束时间必须晚于开始时间")
    assert 'value="供热、物业"' not in r.text and "供热、物业</textarea>" in r.text  # kept
    r = await post(client, "/rota/templates", token, template_form(leaders))
    assert r.status_code == 303 and r.headers["location"] == "/rota?done=template_created"
    made = (await client.get(f"{API}/templates", headers=t.headers("admin"))).json()
    assert [(m["key"], m["topics"], m["slots"]) for m in made] == [
        ("monday", ["供热", "物业"], [{"half": "am", "start": "08:30", "end": "11:30"}])
    ]
    r = await post(client, "/rota/templates", token, template_form(leaders, title_zh="再来一个"))
    assert r.status_code == 409
    assert at_field(r.text, "f-key", "排班标识已被使用")
    assert len((await client.get(f"{API}/templates", headers=t.headers("admin"))).json()) == 1
    # Editing: the key cannot change; nothing saved.
    tid = made[0]["id"]
    r = await post(client, f"/rota/templates/{tid}", token, template_form(leaders, key="other"))
    assert r.status_code == 422 and "排班标识创建后不能修改" in r.text
    r = await post(client, f"/rota/templates/{tid}", token, template_form(leaders, place="二楼"))
    assert r.status_code == 303
    got = (await client.get(f"{API}/templates/{tid}", headers=t.headers("admin"))).json()
    assert got["place"] == "二楼" and got["key"] == "monday"
    # The rotation order (set through the API here) is the order the form shows and sends.
    body = monday_body(leaders[::-1], horizon_weeks=2)
    r = await client.put(f"{API}/templates/{tid}", json=body, headers=t.headers("admin"))
    assert r.status_code == 200, r.text
    form = (await client.get(f"/rota/templates/{tid}", headers=HTML)).text
    shown = re.findall(r'name="leaders" value="(\d+)"', form)
    assert shown == [str(i) for i in leaders[::-1]]


async def test_swap_clashes_are_told_not_saved(
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
    mine = [
        s
        for s in (await client.get(f"{API}/slots", headers=t.headers("admin"))).json()
        if s["leader_id"] == leaders[0]
    ]
    slot = mine[0]["id"]
    leader = another(client)
    token = await signed_in(leader, t.slug, "leader")
    page = await leader.get("/rota", headers=HTML)  # no scheduler: their own days
    assert page.status_code == 200 and f"/rota/mine/slots/{slot}/swap" in page.text
    path = f"/rota/mine/slots/{slot}/swap"
    r = await post(leader, path, token, {"to_leader_id": str(leaders[0]), "reason": "开会"})
    assert r.status_code == 422 and at_field(r.text, "f-to_leader_id", "不能与本人调换")
    r = await post(leader, path, token, {"to_leader_id": str(leaders[1]), "reason": "开会"})
    assert r.status_code == 303 and r.headers["location"] == "/rota/mine?done=swap_requested"
    r = await post(leader, path, token, {"to_leader_id": str(leaders[1]), "reason": "开会"})
    assert r.status_code == 409 and "该时段已有待审批的调换申请" in r.text
    changes = (await client.get(f"{API}/changes", headers=t.headers("admin"))).json()
    assert len(changes) == 1
    # Someone else's slot is not theirs to swap: 404, as another tenant's.
    theirs = next(
        s["id"]
        for s in (await client.get(f"{API}/slots", headers=t.headers("admin"))).json()
        if s["leader_id"] == leaders[1]
    )
    assert (await leader.get(f"/rota/mine/slots/{theirs}/swap", headers=HTML)).status_code == 404

    admin_token = await signed_in(client, t.slug, "admin")
    change = changes[0]["id"]
    r = await post(client, f"/rota/changes/{change}/approve", admin_token, {})
    assert r.status_code == 303 and r.headers["location"] == "/rota?done=approved"
    r = await post(client, f"/rota/changes/{change}/reject", admin_token, {})
    assert r.status_code == 409 and "该调换申请已处理" in r.text
    got = (await client.get(f"{API}/slots/{slot}", headers=t.headers("admin"))).json()
    assert got["leader_id"] == leaders[1] and got["sequence"] == 1
    assert (await client.get(f"{API}/changes", headers=t.headers("admin"))).json()[0][
        "status"
    ] == "approved"


async def test_override_on_the_slot_page(
    client: Any,
    make_tenant: Any,
    rt: Any,
    clock: Any,  # noqa: F811
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    leaders = await add_leaders(rt, t, 2)
    slots = await setup_rota(client, t, monday_body(leaders, horizon_weeks=2))
    slot = slots[0]
    token = await signed_in(client, t.slug, "admin")
    page = await client.get(f"/rota/slots/{slot['id']}", headers=HTML)
    assert page.status_code == 200 and "调整该时段" in page.text
    path = f"/rota/slots/{slot['id']}/override"
    r = await post(client, path, token, {"reason": "临时调整"})
    assert r.status_code == 422
    assert at_field(r.text, "f-leader_id", "请指定新的接待领导或取消该时段")
    r = await post(client, path, token, {"leader_id": str(leaders[1]), "reason": ""})
    assert r.status_code == 422 and at_field(r.text, "f-reason", "调整理由")
    unchanged = (await client.get(f"{API}/slots/{slot['id']}", headers=t.headers("admin"))).json()
    assert unchanged == slot
    r = await post(client, path, token, {"leader_id": str(leaders[1]), "reason": "临时调整"})
    assert r.status_code == 303
    got = (await client.get(f"{API}/slots/{slot['id']}", headers=t.headers("admin"))).json()
    assert got["leader_id"] == leaders[1]
    assert r.headers["location"] == f"/rota/slots/{slot['id']}?done=overridden"
    page = await client.get(r.headers["location"], headers=HTML)
    assert "已调整该时段" in page.text and "临时调整" in page.text  # the change's record
    # Another tenant's admin: 404 on the page and on the form.
    stranger = another(client)
    stoken = await signed_in(stranger, other.slug, "admin")
    assert (await stranger.get(f"/rota/slots/{slot['id']}", headers=HTML)).status_code == 404
    r = await post(stranger, path, stoken, {"leader_id": str(leaders[1]), "reason": "x"})
    assert r.status_code == 404
