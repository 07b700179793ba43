"""The case list's filters and search (``GET /api/v1/cases``, the page ``/cases`` and the
dashboard ``/``) on both engines: each filter narrows to the right matters, ``q`` finds a
receipt code, an exact ID number or phone (keyed hash) and a name, saved views are
presets, another tenant's matters never appear, and a bad filter answers 400 naming it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_lifecycle import act, register
from tests.integration.test_pages_and_cli import _login

pytestmark = pytest.mark.asyncio
START = datetime(2026, 9, 16, 10, 0, tzinfo=TIMEZONE)
HTML = {"accept": "text/html"}
ID_A = valid_id_number(seq=611)
ID_B = valid_id_number(seq=612)


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


def person(name: str, id_number: str | None, phone: str) -> dict[str, Any]:
    return {"name": name, "id_number": id_number, "phone": phone}


async def codes(client: Any, t: Any, role: str = "clerk", **params: Any) -> list[str]:
    r = await client.get("/api/v1/cases", params=params, headers=t.headers(role))
    assert r.status_code == 200, r.text
    return [c["receipt_code"] for c in r.json()["items"]]


async def world(client: Any, make_tenant: Any, clock: FixedClock) -> dict[str, Any]:
    a, b = await make_tenant(), await make_tenant()
    first = await register(client, a, visitor=person("张建国", ID_A, "13900001111"))
    clock.set(START + timedelta(days=12))
    letter = await register(
        client, a, channel="letter", visitor=person("李秀英", ID_B, "13900002222")
    )
    clock.set(START + timedelta(days=13))
    moved = await register(client, a, visitor=person("王小明", None, "13900003333"))
    await act(
        client, a, moved["id"], "transfer", "clerk", to_department_id=a.departments["handling"]
    )
    theirs = await register(client, b, visitor=person("张建国", ID_A, "13900001111"))
    return {"a": a, "b": b, "first": first, "letter": letter, "moved": moved, "theirs": theirs}


async def test_filters_search_and_tenant_wall(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    w = await world(client, make_tenant, clock)
    a, b = w["a"], w["b"]
    first, letter, moved = (
        w["first"]["receipt_code"],
        w["letter"]["receipt_code"],
        w["moved"]["receipt_code"],
    )
    assert await codes(client, a) == [moved, letter, first]  # newest first
    assert await codes(client, a, channel="letter") == [letter]
    assert await codes(client, a, status="transferring") == [moved]
    assert await codes(client, a, status="open") == [moved, letter, first]
    assert await codes(client, a, department=a.departments["handling"]) == [moved]
    assert await codes(client, a, category="general", visit_kind="first") == [moved, letter, first]
    assert await codes(client, a, received_from="2026-09-28", received_to="2026-09-28") == [letter]
    assert await codes(client, a, received_to="2026-09-27") == [first]
    assert await codes(client, a, incoming="1") == [moved]
    assert await codes(client, a, view="incoming") == [moved]
    # 本部门待办: the handler's department holds the transferred matter; the desk's none.
    assert await codes(client, a, "handler", view="department") == [moved]
    assert await codes(client, a, view="department") == []
    assert await codes(client, a, view="reports") == []
    # A view is a preset: what the request says itself wins.
    assert await codes(client, a, view="incoming", incoming="0") == [moved, letter, first]
    # q: the receipt code as read out (lower case, no dash), exact ID, phone, a name part.
    assert await codes(client, a, q=first.lower().replace("-", "")) == [first]
    assert await codes(client, a, q=ID_A) == [first]
    assert await codes(client, a, q="139 0000 2222") == [letter]
    assert await codes(client, a, q="张建") == [first]  # the name from its start
    assert await codes(client, a, q="王") == [moved]
    assert await codes(client, a, q="张建国") == [first]
    assert await codes(client, a, q="建国") == []  # not from inside a name
    # Another tenant's matter never appears, not even by its receipt code.
    assert await codes(client, a, q=w["theirs"]["receipt_code"]) == []
    assert await codes(client, b, q=ID_A) == [w["theirs"]["receipt_code"]]
    assert await codes(client, b, q=first) == []
    # Keyset pages keep the filters.
    r = await client.get(
        "/api/v1/cases", params={"status": "open", "limit": 2}, headers=a.headers()
    )
    page = r.json()
    assert [c["receipt_code"] for c in page["items"]] == [moved, letter]
    assert page["items"][0]["status_zh"] == "转送中（待接收）" and page["next_after"]
    assert await codes(client, a, status="open", after=page["next_after"]) == [first]
    # Masked in the list, never the full number.
    item = page["items"][1]
    assert item["visitor"]["id_number"] != ID_B and "*" in item["visitor"]["id_number"]


async def test_overdue_due_soon_and_mine(client: Any, make_tenant: Any, clock: FixedClock) -> None:
    w = await world(client, make_tenant, clock)
    a = w["a"]
    first, letter = w["first"]["receipt_code"], w["letter"]["receipt_code"]
    assert await codes(client, a, overdue="1") == []
    # The acceptance clock of the first matter runs out on 2026-10-08 (National Day).
    clock.set(datetime(2026, 10, 9, 9, 0, tzinfo=TIMEZONE))
    assert await codes(client, a, overdue="1") == [first]
    r = await client.get("/api/v1/cases", params={"overdue": "1"}, headers=a.headers())
    item = r.json()["items"][0]
    assert item["overdue"] is True and item["nearest_due"] == "2026-10-08"
    assert first not in await codes(client, a, overdue="0")
    soon = await codes(client, a, due_soon="1")  # due within 3 working days, not past
    assert letter in soon and first not in soon
    # The desk answers for clocks nobody is named for: the clerk's, not the handler's.
    assert await codes(client, a, view="overdue") == [first]
    assert await codes(client, a, "handler", view="overdue") == []
    assert await codes(client, a, "handler", overdue="1") == [first]
    # Supervisors and leaders oversee every clock (督办).
    assert await codes(client, a, "supervisor", view="overdue") == [first]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "nonsense"),
        ("channel", "pigeon"),
        ("category", "no-such-category"),
        ("department", "abc"),
        ("department", "2147483648"),
        ("visit_kind", "third"),
        ("overdue", "maybe"),
        ("received_from", "2026-13-01"),
        ("view", "everything"),
        ("q", "110105198001011239"),
        ("q", "1" * 101),
        ("after", "-1"),
    ],
)
async def test_bad_filter_is_400_naming_the_field(
    client: Any, make_tenant: Any, field: str, value: str
) -> None:
    t = await make_tenant()
    r = await client.get("/api/v1/cases", params={field: value}, headers=t.headers())
    if field == "after":  # a typed parameter: refused by the framework, still naming it
        assert r.status_code in (400, 422), r.text
        return
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_filter" and err["field"] == field
    assert value not in err["message"]


async def test_date_range_backwards_and_another_tenants_department(
    client: Any, make_tenant: Any
) -> None:
    a, b = await make_tenant(), await make_tenant()
    r = await client.get(
        "/api/v1/cases",
        params={"received_from": "2026-09-10", "received_to": "2026-09-01"},
        headers=a.headers(),
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "received_to"
    # Another tenant's department (or none at all): an unknown reference, as elsewhere.
    for dept in (b.departments["handling"], 999999):
        r = await client.get("/api/v1/cases", params={"department": dept}, headers=a.headers())
        assert r.status_code == 422, r.text
        assert r.json()["error"] == {
            "code": "unknown_department",
            "field": "department",
            "message": "承办部门不存在。",
        }


async def test_pages_list_and_dashboard(client: Any, make_tenant: Any, clock: FixedClock) -> None:
    w = await world(client, make_tenant, clock)
    a = w["a"]
    first = w["first"]["receipt_code"]
    clock.set(datetime(2026, 10, 9, 9, 0, tzinfo=TIMEZONE))
    assert (await _login(client, a.slug, "clerk", PASSWORD)).status_code in (200, 303)
    page = await client.get("/cases", params={"q": ID_A}, headers=HTML)
    assert page.status_code == 200 and first in page.text
    assert page.text.count(ID_A) == 1  # only in the search box the clerk typed it into
    assert w["theirs"]["receipt_code"] not in page.text
    bad = await client.get("/cases", params={"status": "nonsense"}, headers=HTML)
    assert bad.status_code == 400 and 'id="err-status"' in bad.text
    partial = await client.get(
        "/cases",
        params={"channel": "letter"},
        headers={**HTML, "hx-request": "true", "hx-target": "results"},
    )
    assert partial.status_code == 200 and "<form" not in partial.text
    assert w["letter"]["receipt_code"] in partial.text and first not in partial.text
    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "已超期" in home.text and first in home.text and "本月登记" in home.text
    assert "转来待接收" in home.text and "待审批的回告" not in home.text
    # The counts agree with the lists they link to (counted from the clocks alone).
    block = re.search(r'id="block-overdue">已超期 <span class="count">(\d+)</span>', home.text)
    assert block and block.group(1) == "1"
    tenant_wide = re.search(
        r'<span class="num">(\d+)</span><span class="label">当前超期', home.text
    )
    assert tenant_wide and tenant_wide.group(1) == "1"
