"""The public pages in a real browser, on a 390×844 phone and on a desktop: the board
lists a published slot and its iCal link serves the calendar; the lobby screen renders
in large type and reloads itself; a petition submitted online with a plugin's fields
gets a receipt code, and that code with the phone's last four digits looks it up.
axe-core finds no serious or critical violations on board, lobby, submit and lookup;
no page is wider than the phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    PHONE_VIEWPORT,
    STAFF_VIEWPORT,
    axe_violations,
    new_page,
    screenshot,
)
from tests.conftest import PASSWORD, valid_id_number

VIEWPORTS = {"phone": PHONE_VIEWPORT, "desktop": STAFF_VIEWPORT}
ID = valid_id_number(birth="19750315", seq=358)


async def api(base: str, tenant: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.request(method, path, headers=tenant.headers("admin"), **kw)
    assert r.status_code < 300, r.text
    return r.json()


async def publish_rota(base: str, rt: Any, t: Any) -> None:
    """Two leaders (with their titles) receiving on Mondays and on today's weekday, for
    two weeks, published."""
    from core.services import users

    second = await users.create_user(
        t.scope(rt),
        username="leader2",
        display_name="李建国",
        title="副总经理",
        password=PASSWORD,
        roles=["leader"],
    )
    body = {
        "key": "reception",
        "title_zh": "领导信访接待日",
        "pattern": "weekly",
        "weekdays": sorted({0, rt.clock.today().weekday()}),
        "place": "行政楼一楼信访接待大厅",
        "topics": ["供热温度", "物业收费", "维修服务"],
        "leaders": [second.id, t.users["leader"]["id"]],
        "holiday_policy": "keep",
        "horizon_weeks": 2,
    }
    await api(base, t, "POST", "/api/v1/rota/templates", json=body)
    await api(base, t, "POST", "/api/v1/rota/generate")
    assert (await api(base, t, "POST", "/api/v1/rota/publish", json={}))["published"] > 0


async def fits(page: Any) -> None:
    """Nothing sticks out sideways (no horizontal scrolling on the phone)."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"


def watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_board_lists_published_slots_with_ical_and_a_lobby_mode(
    browser: Any, server: str, rt: Any, make_tenant: Any, tmp_path: Path, device: str
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    await publish_rota(server, rt, t)
    page = await new_page(browser, server, VIEWPORTS[device])
    problems = watch(page)
    try:
        await page.goto(f"/t/{t.slug}/board")
        today = page.locator("section.today")
        await today.get_by_text("李建国").first.wait_for()
        assert await today.get_by_text("副总经理").count() >= 1
        assert await today.get_by_text("行政楼一楼信访接待大厅").count() >= 1
        assert await today.get_by_text("供热温度").count() >= 1
        assert await page.locator("nav a[aria-current=page]").inner_text() == "接访安排"
        await fits(page)
        assert await axe_violations(page) == []
        if device == "phone":
            await screenshot(page, "public-board", tmp_path)

        href = await page.get_by_role("link", name="订阅日历（iCal）").get_attribute("href")
        assert href == f"/t/{t.slug}/schedule.ics"
        ics = await page.request.get(href)
        assert ics.status == 200 and ics.headers["content-type"].startswith("text/calendar")
        text = await ics.text()
        assert "BEGIN:VCALENDAR" in text and "李建国" in text

        await page.goto(f"/t/{t.slug}/board?display=1")
        lobby = page.locator("main.lobby")
        assert await lobby.get_attribute("hx-trigger") == "every 300s, refresh"
        assert await page.locator("nav").count() == 0
        await page.locator(".lobby-today").get_by_text("李建国").first.wait_for()
        size = await page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.lobby h1')).fontSize)"
        )
        assert size >= 28, size  # readable across a hall
        await fits(page)
        assert await axe_violations(page) == []
        if device == "desktop":  # a hall screen is landscape
            await screenshot(page, "public-board-display", tmp_path)
        # It reloads itself: the poll (here triggered at once) fetches and swaps it in.
        async with page.expect_request(
            lambda r: "display=1" in r.url and r.headers.get("hx-request") == "true"
        ):
            await page.evaluate("htmx.trigger('#main', 'refresh')")
        await page.wait_for_load_state("networkidle")
        await page.locator(".lobby-today").get_by_text("李建国").first.wait_for()
        assert await page.locator("main.lobby").count() == 1
        assert problems == []
    finally:
        await page.context.close()


@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_submit_a_petition_online_then_look_it_up(
    browser: Any, server: str, make_tenant: Any, tmp_path: Path, device: str
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    page = await new_page(browser, server, VIEWPORTS[device])
    problems = watch(page)
    try:
        await page.goto(f"/t/{t.slug}/submit")
        await page.get_by_label("姓名").fill("赵六")
        await page.get_by_label("身份证号码").fill(ID[:-1] + ("0" if ID[-1] != "0" else "1"))
        # Checked as it is typed (htmx), before anything is sent.
        check = page.locator("#check-f-visitor-id_number")
        await check.get_by_text("校验位").wait_for()
        await page.get_by_label("联系电话").fill("13700001357")
        await page.get_by_label("住址").fill("幸福小区 7 号楼 1 单元 502")
        # Choosing the category brings its plugin fields (htmx).
        await page.get_by_label("类别").select_option(label="供暖")
        await page.get_by_label("楼号").wait_for()
        await page.get_by_label("楼号").fill("7")
        await page.get_by_label("实测室温（°C）").fill("14")
        await page.get_by_label("事由").fill("入冬以来室温一直只有 14 度，多次报修无人上门。")
        await page.get_by_label("诉求").fill("尽快派人检修，达到 18 度。")
        # A wrong ID number: the form comes back with the message at the field.
        async with page.expect_navigation():
            await page.get_by_role("button", name="提交").click()
        error = page.locator("#err-f-visitor-id_number")
        assert "校验位" in await error.inner_text()
        assert await page.get_by_label("事由").input_value() != ""
        assert await page.get_by_label("楼号").input_value() == "7"
        await fits(page)
        assert await axe_violations(page) == []
        if device == "phone":
            await screenshot(page, "public-submit", tmp_path)
        await page.get_by_label("身份证号码").fill(ID)
        async with page.expect_navigation():
            await page.get_by_role("button", name="提交").click()
        code = (await page.locator("#receipt-code").inner_text()).strip()
        assert len(code) == 15, code
        assert await axe_violations(page) == []

        # The office accepts it (through the staff API) before the petitioner looks.
        items = (await api(server, t, "GET", "/api/v1/cases"))["items"]
        assert [c["receipt_code"] for c in items] == [code] and items[0]["channel"] == "online"
        await api(server, t, "POST", f"/api/v1/cases/{items[0]['id']}/actions/accept",
                  json={"version": 1, "note": "内部：请供热科王工处理"})  # fmt: skip

        await page.get_by_role("link", name="查询办理进度").click()
        await page.wait_for_url(f"**/t/{t.slug}/lookup")
        await page.get_by_label("回执号").fill(code.lower())
        await page.get_by_label("手机号后四位").fill("1357")
        async with page.expect_navigation():
            await page.get_by_role("button", name="查询").click()
        result = page.locator("section.result")
        assert code in await result.inner_text()
        milestones = await result.locator("ol.milestones li").all_inner_texts()
        assert len(milestones) == 2, milestones
        assert "已登记" in milestones[0] and "已受理" in milestones[1]
        body = await page.locator("body").inner_text()
        for private in ("赵六", "14 度", "幸福小区", "13700001357", "王工", "供热科"):
            assert private not in body
        await fits(page)
        assert await axe_violations(page) == []
        if device == "phone":
            await screenshot(page, "public-lookup", tmp_path)

        # Wrong digits: the neutral answer, no result.
        await page.get_by_label("手机号后四位").fill("0000")
        async with page.expect_navigation():
            await page.get_by_role("button", name="查询").click()
        assert "没有找到" in await page.get_by_role("alert").inner_text()
        assert await page.locator("section.result").count() == 0
        # The refused form (422) and the neutral "not found" (404) are pages, not faults.
        expected = ("status of 422", "status of 404")
        assert [p for p in problems if not any(e in p for e in expected)] == [], problems
    finally:
        await page.context.close()
