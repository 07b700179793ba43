"""The case list ``/cases`` and the dashboard ``/`` in a real browser (issue #13): a clerk
finds a matter by the receipt code a caller reads out and by an exact ID number and opens
it; filters survive the next page; each person's dashboard shows their blocks (due soon,
overdue, transfers in, reports to approve for a supervisor); no serious or critical
accessibility violations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.async_api import expect

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.browser.conftest import axe_violations, login, new_page, screenshot
from tests.conftest import PASSWORD
from tests.integration.procs import case_body

TODAY = datetime(2026, 10, 12, 9, 30, tzinfo=TIMEZONE)  # a Monday


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(TODAY)
    yield rt.clock
    rt.clock = saved


async def _register(http: httpx.AsyncClient, t: Any, i: int, **over: Any) -> dict[str, Any]:
    r = await http.post("/api/v1/cases", json={**case_body(i, "列表"), **over}, headers=t.headers())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _act(
    http: httpx.AsyncClient, t: Any, cid: int, action: str, role: str, **data: Any
) -> None:
    r = await http.post(f"/api/v1/cases/{cid}/actions/{action}", json=data, headers=t.headers(role))
    assert r.status_code == 200, r.text


async def _search(page: Any, text: str) -> None:
    """Type into 搜索 and press Enter, as a clerk on the phone does."""
    box = page.get_by_label("搜索")
    await box.fill(text)
    async with page.expect_response(lambda r: "/cases?" in r.url):
        await box.press("Enter")
    await page.wait_for_load_state("networkidle")


async def test_clerk_finds_by_receipt_code_and_id_number_and_filters_page_on(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t, other = await make_tenant(), await make_tenant()
    async with httpx.AsyncClient(base_url=server) as http:
        letters = [await _register(http, t, i, channel="letter") for i in range(52)]
        visits = [await _register(http, t, 100 + i) for i in range(2)]
        theirs = await _register(http, other, 0)
    wanted = letters[7]
    id_number = case_body(7, "")["visitor"]["id_number"]

    await login(page, t.slug, "clerk", PASSWORD)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="案件").click()
    await page.wait_for_load_state("networkidle")
    assert urlparse(page.url).path == "/cases"
    assert await page.get_by_role("row").count() == 51  # a header and 50 matters
    assert await axe_violations(page) == []
    await screenshot(page, "cases-list", tmp_path)

    # The caller reads the code out: lower case, without the dash.
    await _search(page, wanted["receipt_code"].lower().replace("-", ""))
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(1)
    assert wanted["receipt_code"] in await rows.first.inner_text()
    # Another tenant's code finds nothing.
    await _search(page, theirs["receipt_code"])
    await expect(page.locator("#results")).to_contain_text("没有符合条件的信访事项")

    await _search(page, id_number)
    row = page.locator("#results tbody tr")
    await expect(row).to_have_count(1)
    text = await row.first.inner_text()
    assert wanted["receipt_code"] in text and id_number not in text  # masked in the table
    await row.first.get_by_role("link", name=wanted["receipt_code"]).click()
    await page.wait_for_load_state("networkidle")
    assert urlparse(page.url).path == f"/cases/{wanted['id']}"

    # Filters, then the next page: still only letters, the form still says so.
    await page.goto("/cases")
    await page.get_by_label("来源").select_option(label="来信")
    async with page.expect_response(lambda r: "channel=letter" in r.url):
        await page.get_by_role("button", name="查询").click()
    await page.wait_for_load_state("networkidle")
    await expect(page.locator("#results tbody tr")).to_have_count(50)
    await expect(page).to_have_url(re.compile("channel=letter"))
    first_page = await page.locator("#results tbody").inner_text()
    assert all(v["receipt_code"] not in first_page for v in visits)
    async with page.expect_navigation():
        await page.get_by_role("link", name="下一页").click()
    query = parse_qs(urlparse(page.url).query)
    assert query["channel"] == ["letter"] and query["after"]
    assert await page.get_by_label("来源").input_value() == "letter"
    rest = await page.locator("#results tbody tr").count()
    assert rest == 2
    second_page = await page.locator("#results tbody").inner_text()
    assert letters[0]["receipt_code"] in second_page
    assert all(v["receipt_code"] not in second_page for v in visits)

    # A refused filter: the message stands at its field, nothing is listed.
    await page.goto("/cases?received_from=2026-10-10&received_to=2026-10-01")
    error = page.locator("#err-received_to")
    assert "不能早于" in await error.inner_text()
    assert await page.get_by_label("登记日期 止").get_attribute("aria-invalid") == "true"
    assert await axe_violations(page) == []


async def test_dashboard_shows_each_person_their_blocks(
    browser: Any, server: str, make_tenant: Any, rt: Any, clock: FixedClock, tmp_path: Path
) -> None:
    t = await make_tenant()
    async with httpx.AsyncClient(base_url=server) as http:
        clock.set(datetime(2026, 9, 1, 10, 0, tzinfo=TIMEZONE))
        late = await _register(http, t, 1)  # acceptance due in September: overdue now
        reported = await _register(http, t, 2)
        await _act(http, t, reported["id"], "accept", "clerk")
        await _act(http, t, reported["id"], "start_handling", "handler")
        await _act(http, t, reported["id"], "report", "handler", note="已修复")
        clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=TIMEZONE))
        soon = await _register(http, t, 3)  # acceptance due 2026-10-13
        clock.set(datetime(2026, 10, 9, 10, 0, tzinfo=TIMEZONE))
        moved = await _register(http, t, 4)
        await _act(
            http, t, moved["id"], "transfer", "clerk", to_department_id=t.departments["handling"]
        )
        clock.set(TODAY)
        r = await http.post(
            "/api/v1/sessions",
            json={
                "day": TODAY.date().isoformat(),
                "half": "am",
                "starts_at": "09:00",
                "ends_at": "11:30",
                "place": "一楼接待大厅",
                "leader_id": t.users["leader"]["id"],
            },
            headers=t.headers("admin"),
        )
        assert r.status_code == 201, r.text

    clerk = await new_page(browser, server)
    await login(clerk, t.slug, "clerk", PASSWORD)
    assert urlparse(clerk.url).path == "/"
    overdue = clerk.locator("section.block-overdue")
    assert late["receipt_code"] in await overdue.inner_text()
    assert soon["receipt_code"] in await clerk.locator("section.block-due_soon").inner_text()
    assert moved["receipt_code"] in await clerk.locator("section.block-incoming").inner_text()
    assert await clerk.locator("section.block-reports").count() == 0  # not a supervisor's desk
    today = await clerk.get_by_role("region", name="今日接访").inner_text()
    assert "一楼接待大厅" in today and "leader-user" in today
    counts = await clerk.get_by_role("region", name="本月概况").inner_text()
    assert "当前超期" in counts
    assert await axe_violations(clerk) == []
    # Each block links to the saved filter that lists it.
    async with clerk.expect_navigation():
        await overdue.get_by_role("link", name="查看全部").click()
    assert parse_qs(urlparse(clerk.url).query) == {"view": ["overdue"]}
    assert late["receipt_code"] in await clerk.locator("#results").inner_text()
    assert "已超期" in await clerk.locator("#results").inner_text()
    await clerk.context.close()

    supervisor = await new_page(browser, server)
    await login(supervisor, t.slug, "supervisor", PASSWORD)
    reports = supervisor.locator("section.block-reports")
    assert reported["receipt_code"] in await reports.inner_text()
    assert late["receipt_code"] not in await reports.inner_text()
    assert await axe_violations(supervisor) == []
    await screenshot(supervisor, "dashboard", tmp_path)
    await supervisor.context.close()
