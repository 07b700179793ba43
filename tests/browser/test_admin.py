"""The tenant's administration in a real browser: an admin creates a user who then logs
in; turns a plugin on and its category appears at the desk; imports a calendar after a
preview of the deadlines it moves; checks the audit chain; axe-core finds no serious or
critical violation on any admin page; screenshots of the main screens."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.browser.conftest import axe_violations, login, new_page, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_lifecycle import body

PAGES = [
    "/admin",
    "/admin/users",
    "/admin/departments",
    "/admin/plugins",
    "/admin/settings",
    "/admin/calendar",
    "/admin/open311",
    "/admin/audit",
]


def watch(page: Any) -> list[str]:
    """Console errors, failed requests and page errors (the CSP refuses inline code)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def test_every_admin_page_passes_axe_and_is_reached_from_the_nav(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    problems = watch(page)
    await login(page, t.slug, "admin", PASSWORD)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="管理").click()
    await page.wait_for_load_state("networkidle")
    assert page.url == f"{server}/admin"
    for path in PAGES:
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        current = page.get_by_role("navigation", name="管理").locator('[aria-current="page"]')
        assert await current.get_attribute("href") == path
        assert await axe_violations(page) == [], path
    assert problems == []
    # A refused form too: its messages stand at their fields.
    await page.goto("/admin/settings")
    await page.get_by_label("API 令牌最长有效期（天）").fill("0")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存设置").click()
    assert "不能小于 1。" in await page.locator("#err-f-token_max_ttl_days").inner_text()
    assert await page.evaluate("document.activeElement.name") == "token_max_ttl_days"
    assert await axe_violations(page) == []


async def test_an_admin_creates_a_user_who_then_logs_in(
    browser: Any, page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    await login(page, t.slug, "admin", PASSWORD)
    await page.goto("/admin/users")
    form = page.locator("form", has=page.get_by_role("heading", name="新建用户"))
    await form.get_by_label("用户名").fill("zhao.liu")
    await form.get_by_label("姓名").fill("赵六")
    await form.get_by_label("初始密码").fill("short")
    await form.get_by_label("承办人员").check()
    async with page.expect_navigation():
        await form.get_by_role("button", name="创建用户").click()
    # Refused at its field, the rest kept, the focus on the field.
    assert "密码太短" in await page.locator("#err-f-password").inner_text()
    assert await page.evaluate("document.activeElement.name") == "password"
    assert await form.get_by_label("用户名").input_value() == "zhao.liu"
    assert await form.get_by_label("承办人员").is_checked()
    assert await axe_violations(page) == []
    await form.get_by_label("初始密码").fill("a-long-initial-pw")
    await form.get_by_label("部门").select_option(label="handling")
    async with page.expect_navigation():
        await form.get_by_label("初始密码").press("Enter")
    await page.wait_for_load_state("networkidle")
    row = page.get_by_role("row").filter(has_text="zhao.liu")
    assert "承办人员" in await row.inner_text() and "handling" in await row.inner_text()
    assert "已创建用户" in await page.locator(".notice").inner_text()
    await screenshot(page, "admin-users", tmp_path)

    newbie = await new_page(browser, server)
    try:
        await login(newbie, t.slug, "zhao.liu", "a-long-initial-pw")
        assert newbie.url == f"{server}/"
        assert "赵六" in await newbie.locator("header.top").inner_text()
    finally:
        await newbie.context.close()


async def test_a_plugin_turned_on_brings_its_category_to_the_desk(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    await login(page, t.slug, "admin", PASSWORD)
    await page.goto("/cases/new")
    assert "供暖" not in await page.get_by_label("类别", exact=True).inner_text()

    await page.goto("/admin/plugins")
    card = page.locator("#plugin-enterprise_logistics")
    async with page.expect_navigation():
        await card.get_by_role("button", name="启用").click()
    await page.wait_for_load_state("networkidle")
    assert "已启用" in await card.locator(".plugin-head .badge").inner_text()
    # A setting refused at its field.
    await card.get_by_label("temp_standard").fill("40")
    async with page.expect_navigation():
        await card.get_by_role("button", name="保存设置").click()
    error = page.locator("#err-f-p-enterprise_logistics-config-temp_standard")
    assert "10–26" in await error.inner_text()
    assert await axe_violations(page) == []
    await card.get_by_label("temp_standard").fill("20")
    async with page.expect_navigation():
        await card.get_by_role("button", name="保存设置").click()
    assert "插件设置已保存" in await page.locator(".notice").inner_text()
    assert await card.get_by_label("temp_standard").input_value() == "20"
    await screenshot(page, "admin-plugins", tmp_path)

    await page.goto("/cases/new")
    assert "供暖" in await page.get_by_label("类别", exact=True).inner_text()


async def test_a_calendar_is_imported_after_a_preview_of_what_moves(
    page: Any, server: str, make_tenant: Any, rt: Any, tmp_path: Path
) -> None:
    from core.db.engine import global_tx
    from core.db.tables import WorkCalendarDay, WorkCalendarYear
    from tests.calendar_notice import notice_2027_csv

    t = await make_tenant()
    saved, settings = rt.clock, rt.settings
    rt.clock = FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=TIMEZONE))
    # This tenant's admins may import the deployment's calendar (XINFANG_CALENDAR_ADMINS).
    rt.settings = dataclasses.replace(settings, calendar_admins=frozenset({t.slug}))
    notice = tmp_path / "2027年放假安排.csv"
    notice.write_text(notice_2027_csv("2027-01-19,holiday,假想假日"), encoding="utf-8")
    try:
        async with httpx.AsyncClient(base_url=server) as http:
            r = await http.post("/api/v1/cases", json=body(), headers=t.headers())
            case = r.json()
            r = await http.post(
                f"/api/v1/cases/{case['id']}/actions/accept", json={}, headers=t.headers()
            )
            assert r.status_code == 200, r.text
        await login(page, t.slug, "admin", PASSWORD)
        await page.goto("/admin/calendar")
        await page.get_by_label("日历文件（CSV 或 JSON，UTF-8）").set_input_files(str(notice))
        async with page.expect_navigation():
            await page.get_by_role("button", name="预览").click()
        preview = page.locator("section.preview")
        row = preview.get_by_role("row").filter(has_text=case["receipt_code"])
        assert (
            "2027年1月19日" in await row.inner_text() and "2027年1月20日" in await row.inner_text()
        )
        assert await axe_violations(page) == []
        await screenshot(page, "admin-calendar", tmp_path)
        async with page.expect_navigation():
            await preview.get_by_role("button", name="确认导入").click()
        assert "已导入 2027 年工作日历" in await page.locator(".notice").inner_text()
        async with httpx.AsyncClient(base_url=server) as http:
            after = (await http.get(f"/api/v1/cases/{case['id']}", headers=t.headers())).json()
        handle = next(d for d in after["deadlines"] if d["clock"] == "handle")
        assert handle["due"] == "2027-01-20" and not handle["provisional"]
    finally:
        rt.settings = settings
        rt.clock = saved
        async with global_tx():
            await WorkCalendarDay.delete().where(WorkCalendarDay.day >= datetime(2027, 1, 1).date())
            await WorkCalendarYear.delete().where(WorkCalendarYear.year == 2027)


async def test_the_audit_log_and_its_chain_check(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant(plugins=("court",))
    problems = watch(page)
    await login(page, t.slug, "admin", PASSWORD)
    await page.goto("/admin/audit")
    rows = page.locator("table.audit tbody tr")
    assert await rows.count() >= 10
    assert "登录成功" in await rows.first.inner_text()  # newest first: this login
    await page.get_by_role("button", name="校验哈希链").click()  # htmx: no reload
    await page.locator(".verify-ok").wait_for()
    assert "审计日志完好" in await page.locator("#verify-result").inner_text()
    assert await axe_violations(page) == []
    await screenshot(page, "admin-audit", tmp_path)
    await page.get_by_label("操作类别").select_option("plugin")
    async with page.expect_navigation():
        await page.get_by_role("button", name="筛选").click()
    texts = await page.locator("table.audit tbody tr").all_inner_texts()
    assert texts and all("plugin." in x for x in texts)
    assert problems == []
