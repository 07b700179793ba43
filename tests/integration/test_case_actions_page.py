"""The case page's action forms (issue #13): the steps allowed now, posted as forms
through the same service as the JSON API, with the version the page showed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import TenantFixture
from tests.integration.test_case_page import login
from tests.integration.test_lifecycle import act, register
from tests.integration.test_pages_and_cli import _login
from tests.integration.test_repeats_and_accused import staff

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}


async def page(client: Any, cid: int) -> str:
    r = await client.get(f"/cases/{cid}", headers=HTML)
    assert r.status_code == 200, r.text
    return r.text  # type: ignore[no-any-return]


def csrf(text: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', text)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def version(text: str, action: str) -> str:
    form = text[text.index(f'/act/{action}"') :]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found, action
    return found.group(1)


def offered(text: str) -> set[str]:
    return set(re.findall(r'action="/cases/\d+/act/([a-z_]+)"', text))


async def submit(client: Any, cid: int, action: str, status: int = 303, **fields: Any) -> Any:
    """Open the case page, fill the action's form and post it (as a browser would)."""
    text = await page(client, cid)
    assert action in offered(text), (action, offered(text))
    data = {"_csrf_token": csrf(text), "version": version(text, action), **fields}
    r = await client.post(f"/cases/{cid}/act/{action}", data=data, headers=HTML)
    assert r.status_code == status, r.text
    return r


async def api_case(client: Any, t: TenantFixture, cid: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/cases/{cid}", headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_clerk_accepts_handler_reports_supervisor_approves_through_the_page(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    cid = (await register(client, t))["id"]

    await login(client, t, "clerk")
    text = await page(client, cid)
    assert {"accept", "not_accept", "transfer"} <= offered(text)
    assert "<summary>受理</summary>" in text
    r = await submit(client, cid, "accept", note="属本机关职责")
    assert r.headers["location"] == f"/cases/{cid}?done=accept"
    done = await client.get(f"/cases/{cid}?done=accept", headers=HTML)
    assert "已完成：受理" in done.text and "已受理" in done.text
    assert (await api_case(client, t, cid))["status"] == "accepted"

    # The handler takes it up (the handler select defaults to themselves) and reports.
    await login(client, t, "handler")
    await submit(client, cid, "start_handling")
    # A report without its content: 422 next to the form, nothing saved.
    before = await api_case(client, t, cid)
    bad = await submit(client, cid, "report", 422, note="   ")
    assert "回告内容" in bad.text and 'id="err-report"' in bad.text
    assert '<details class="action" open>' in bad.text
    assert await api_case(client, t, cid) == before
    await submit(client, cid, "report", note="已修复管道，室温 20 度")
    case = await api_case(client, t, cid)
    assert case["status"] == "reported"
    assert case["events"][-1]["data"]["content"] == "已修复管道，室温 20 度"

    # The supervisor reviews the report and closes the matter with an opinion.
    await login(client, t, "supervisor")
    text = await page(client, cid)
    assert {"approve_report", "return_report"} <= offered(text)
    assert '<option value="support">支持</option>' in text
    await submit(client, cid, "approve_report", opinion="support", opinion_text="支持，已修复")
    case = await api_case(client, t, cid)
    assert case["status"] == "closed" and case["opinion"] == "support"


async def test_the_assignee_cannot_close_their_own_case(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    solo, _ = await staff(
        client, rt, t, "solo", ["handler", "supervisor"], department_id=t.departments["handling"]
    )
    cid = (await register(client, t))["id"]
    await act(client, t, cid, "accept", "clerk")
    await act(client, t, cid, "start_handling", "clerk", handler_id=solo["id"])
    assert (await _login(client, t.slug, "solo", "pw-123456789")).status_code == 303
    text = await page(client, cid)
    assert "close" not in offered(text)  # four-eyes: not offered …
    before = await api_case(client, t, cid)
    data = {
        "_csrf_token": csrf(text),
        "version": str(before["version"]),
        "opinion": "support",
        "opinion_text": "支持",
    }
    r = await client.post(f"/cases/{cid}/act/close", data=data, headers=HTML)
    assert r.status_code == 403, r.text  # … and refused when posted anyway
    assert "您是本事项的承办人" in r.text
    assert await api_case(client, t, cid) == before


async def test_a_stale_version_shows_the_matter_changed_and_what_is_possible_now(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    cid = (await register(client, t))["id"]
    await login(client, t, "clerk")
    text = await page(client, cid)
    seen = version(text, "accept")
    await act(client, t, cid, "accept", "supervisor")  # someone else was quicker
    before = await api_case(client, t, cid)
    data = {"_csrf_token": csrf(text), "version": seen, "note": "受理"}
    r = await client.post(f"/cases/{cid}/act/accept", data=data, headers=HTML)
    assert r.status_code == 409, r.text
    assert "此事项已被他人更新" in r.text
    assert "accept" not in offered(r.text) and "assign" in offered(r.text)
    assert await api_case(client, t, cid) == before


async def test_a_form_without_the_csrf_token_is_refused(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    cid = (await register(client, t))["id"]
    await login(client, t, "clerk")
    text = await page(client, cid)
    before = await api_case(client, t, cid)
    r = await client.post(
        f"/cases/{cid}/act/accept", data={"version": version(text, "accept")}, headers=HTML
    )
    assert r.status_code == 403
    assert await api_case(client, t, cid) == before


async def test_another_tenants_case_is_not_found(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    cid = (await register(client, b))["id"]
    await login(client, a, "clerk")
    own = (await register(client, a))["id"]
    token = csrf(await page(client, own))
    assert (await client.get(f"/cases/{cid}", headers=HTML)).status_code == 404
    r = await client.post(
        f"/cases/{cid}/act/accept", data={"_csrf_token": token, "version": "0"}, headers=HTML
    )
    assert r.status_code == 404
    assert (await api_case(client, b, cid))["status"] == "registered"


async def test_notice_transfer_and_coordination_forms_reach_the_service(
    client: Any, make_tenant: Any
) -> None:
    """书面告知 goes through record_notice; a department select and a list of checkboxes
    arrive as the ids the API takes."""
    t = await make_tenant()
    cid = (await register(client, t))["id"]
    await login(client, t, "clerk")
    await submit(client, cid, "accept")
    text = await page(client, cid)
    assert '<option value="post">邮寄送达</option>' in text
    today = re.search(r'id="f-notify-given_on" name="given_on"[^>]* value="([\d-]+)"', text)
    assert today, "the notice date defaults to today"
    await submit(client, cid, "notify", channel="post", given_on=today.group(1), note="挂号信")
    case = await api_case(client, t, cid)
    assert case["events"][-1]["kind"] == "notify"
    assert not any(c["clock"] == "notify" and c["state"] == "open" for c in case["deadlines"])

    handling = t.departments["handling"]
    await login(client, t, "supervisor")
    await submit(client, cid, "start_handling", handler_id=str(t.users["handler"]["id"]))
    await login(client, t, "handler")
    client_data = {"minutes": "协调会纪要", "department_ids": [str(handling)], "on": today.group(1)}
    await submit(client, cid, "coordinate", **client_data)
    event = (await api_case(client, t, cid))["events"][-1]
    assert event["kind"] == "coordinate" and event["data"]["minutes"] == "协调会纪要"
