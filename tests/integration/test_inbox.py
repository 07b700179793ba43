"""/api/v1/inbox: a staff member sees, counts and marks read only their own messages."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.notify.jobs import run_deliver
from tests.integration.test_outbox import queue
from tests.integration.test_reminders import at

pytestmark = pytest.mark.asyncio


async def test_inbox_lists_counts_and_marks_read_only_the_callers_messages(
    rt: Any, client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    await queue(rt, t, 3, t.users["handler"]["id"])
    await queue(rt, t, 1, t.users["clerk"]["id"], prefix="c")
    await queue(rt, other, 1, other.users["handler"]["id"])
    for x in (t, other):
        await run_deliver(rt, tenants=[x.id], now=at("2026-09-16", 10))
    h = t.headers("handler")
    resp = await client.get("/api/v1/inbox/unread-count", headers=h)
    assert resp.json() == {"unread": 3}
    page = (await client.get("/api/v1/inbox/?limit=2", headers=h)).json()
    assert [m["title"] for m in page["items"]] == ["标题2", "标题1"]
    assert page["unread"] == 3 and page["next_before"] == page["items"][-1]["id"]
    rest = (await client.get(f"/api/v1/inbox/?before={page['next_before']}", headers=h)).json()
    assert [m["title"] for m in rest["items"]] == ["标题0"] and rest["next_before"] is None
    first = page["items"][0]["id"]
    resp = await client.post(f"/api/v1/inbox/{first}/read", headers=h)
    assert resp.status_code == 200 and resp.json()["read_at"]
    again = await client.post(f"/api/v1/inbox/{first}/read", headers=h)  # idempotent
    assert again.json()["read_at"] == resp.json()["read_at"]
    unread = (await client.get("/api/v1/inbox/?unread=true", headers=h)).json()
    assert len(unread["items"]) == 2
    # Someone else's message, and another tenant's: 404 with a stable code.
    clerk_msg = (await client.get("/api/v1/inbox/", headers=t.headers("clerk"))).json()
    resp = await client.post(f"/api/v1/inbox/{clerk_msg['items'][0]['id']}/read", headers=h)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "message_not_found"
    foreign = (await client.get("/api/v1/inbox/", headers=other.headers("handler"))).json()
    resp = await client.post(f"/api/v1/inbox/{foreign['items'][0]['id']}/read", headers=h)
    assert resp.status_code == 404
    resp = await client.post("/api/v1/inbox/read-all", headers=h)
    assert resp.json() == {"marked": 2}
    assert (await client.get("/api/v1/inbox/unread-count", headers=h)).json() == {"unread": 0}
    resp = await client.get("/api/v1/inbox/?limit=0", headers=h)
    assert resp.status_code in (400, 422)


async def test_inbox_needs_credentials(client: Any) -> None:
    resp = await client.get("/api/v1/inbox/")
    assert resp.status_code == 401
