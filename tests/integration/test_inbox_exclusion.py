"""Messages already in the inbox follow the case page's rule *now*: once the reader is
excluded from a case (检举控告 — e.g. moved into the accused department), its messages
leave their inbox, API and page alike, and cannot be marked read. Both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from core.clock import FixedClock
from core.db.engine import tenant_tx
from core.db.tables import StaffUser
from core.services.events import enqueue
from daemon.notify.jobs import run_deliver
from tests.integration.test_lifecycle import START, act, register
from tests.integration.test_plugin_sectors import add_departments
from tests.integration.test_repeats_and_accused import staff

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


async def inbox(client: Any, who: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/api/v1/inbox/?limit=200", headers=who)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def page(client: Any, who: dict[str, str]) -> str:
    r = await client.get("/inbox", headers={**who, **HTML})
    assert r.status_code == 200, r.text
    return r.text  # type: ignore[no-any-return]


async def move(t: Any, user_id: int, department_id: int) -> None:
    """The account is moved to another department (as an administrator would; there is
    no staff-editing API yet, so the row is updated the way such a form would)."""
    async with tenant_tx(t.id):
        await StaffUser.update({StaffUser.department_id: department_id}).where(
            (StaffUser.tenant_id == t.id) & (StaffUser.id == user_id)
        )


async def complaint_with_messages(
    client: Any, rt: Any, make_tenant: Any
) -> tuple[Any, dict[str, Any], dict[str, str], dict[str, Any], int]:
    """A complaint against station-hx, handled by li (in another department), who has a
    催办 about it, a digest naming it, and an unrelated message in the inbox."""
    t = await make_tenant()
    deps = await add_departments(client, t, "station-hx")
    li, as_li = await staff(
        client, rt, t, "li", ["handler"], department_id=t.departments["handling"]
    )
    case = await register(
        client,
        t,
        purpose="accusation",
        legal_category="accusation",
        cause="派出所民警出警拖延并索要好处",
        accused={"department_ids": [deps["station-hx"]], "description": "城关派出所"},
    )
    cid = case["id"]
    await act(client, t, cid, "accept", "clerk")
    await act(client, t, cid, "start_handling", "clerk", handler_id=li["id"])
    await act(client, t, cid, "chase", "supervisor", note="请本周内办结")
    async with tenant_tx(t.id):
        for key, payload in (
            (
                "digest",
                {"title": "今日待办汇总", "body": "1 件", "link": "/inbox", "case_ids": [cid]},
            ),
            ("other", {"title": "与本案无关", "body": "月度排查表", "link": None}),
        ):
            await enqueue(
                t.scope(rt), key, dedupe_key=key, at=START, payload=payload, recipient_id=li["id"]
            )
    await run_deliver(rt, tenants=[t.id], now=START + timedelta(hours=1))
    return t, li, as_li, case, deps["station-hx"]


async def test_delivered_messages_leave_the_inbox_when_the_reader_is_excluded(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t, li, as_li, case, accused_dept = await complaint_with_messages(client, rt, make_tenant)
    cid, code = case["id"], case["receipt_code"]
    before = await inbox(client, as_li)
    assert sorted(m["title"] for m in before["items"]) == sorted(
        [f"催办：{code}", "今日待办汇总", "与本案无关"]
    )
    assert before["unread"] == 3
    shown = await page(client, as_li)
    # The message is listed; its link opens the case through the inbox (marking it read).
    assert f"催办：{code}" in shown and "/open" in shown

    await move(t, li["id"], accused_dept)
    assert (await client.get(f"/api/v1/cases/{cid}", headers=as_li)).status_code == 404
    hidden = next(m for m in before["items"] if m["title"] == f"催办：{code}")
    opened = await client.get(f"/inbox/{hidden['id']}/open", headers={**as_li, **HTML})
    assert opened.status_code == 404 and code not in opened.text  # not followed, not marked

    after = await inbox(client, as_li)
    assert [m["title"] for m in after["items"]] == ["与本案无关"]
    assert after["unread"] == 1
    count = await client.get("/api/v1/inbox/unread-count", headers=as_li)
    assert count.json() == {"unread": 1}
    unread = await client.get("/api/v1/inbox/?unread=true", headers=as_li)
    assert [m["title"] for m in unread.json()["items"]] == ["与本案无关"]
    html = await page(client, as_li)
    assert code not in html and f"/cases/{cid}" not in html and "今日待办汇总" not in html
    assert "与本案无关" in html and "未读 1 条" in html
    for m in before["items"]:
        r = await client.post(f"/api/v1/inbox/{m['id']}/read", headers=as_li)
        hidden = m["title"] != "与本案无关"
        assert r.status_code == (404 if hidden else 200), r.text
        if hidden:
            assert r.json()["error"]["code"] == "message_not_found"
    # Pagination counts only what may be shown: no empty page, no dangling cursor.
    first = (await client.get("/api/v1/inbox/?limit=1", headers=as_li)).json()
    assert [m["title"] for m in first["items"]] == ["与本案无关"] and first["next_before"] is None

    # Moved back out, the messages are theirs again (hidden, not deleted).
    await move(t, li["id"], t.departments["handling"])
    assert len((await inbox(client, as_li))["items"]) == 3


async def test_messages_delivered_before_the_case_column_are_filtered_after_backfill(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """Rows delivered by an older version carry no case reference; the migration fills
    them from the outbox payload (the same contract as delivery)."""
    from core.db.notify.migrations.m0004_inbox_message_case_fill import backfill_case_refs
    from core.db.notify.tables import InboxMessageCase

    t, li, as_li, _case, accused_dept = await complaint_with_messages(client, rt, make_tenant)
    async with tenant_tx(t.id):
        await InboxMessageCase.delete().where(InboxMessageCase.tenant_id == t.id)
    async with tenant_tx(t.id):
        assert await backfill_case_refs(t.id) == 2
    async with tenant_tx(t.id):
        assert await backfill_case_refs(t.id) == 0  # idempotent
    await move(t, li["id"], accused_dept)
    assert [m["title"] for m in (await inbox(client, as_li))["items"]] == ["与本案无关"]
