"""The reception desk in a real browser, by keyboard only: a visit with a plugin's fields
is registered and opens its case page with the receipt code; a second visit with the
same ID number shows the earlier matter before it is submitted; a bad ID number shows its
error as typed and on submitting, and nothing is saved; a group visit asks for its
representatives; axe-core finds no serious or critical violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import axe_violations, login, screenshot
from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_platform_api import case_body

ID = valid_id_number(birth="19800101", seq=123)  # odd sequence digit: male


async def api(base: str, tenant: Any, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.request(method, path, headers=tenant.headers(), **kw)
    assert r.status_code < 300, r.text
    return r.json()


async def count(base: str, tenant: Any) -> int:
    return len((await api(base, tenant, "GET", "/api/v1/cases", params={"limit": 200}))["items"])


async def focused(page: Any) -> str:
    return str(await page.evaluate("document.activeElement && document.activeElement.name"))


async def tab_to(page: Any, name: str, limit: int = 30) -> None:
    """Tab until the input ``name`` has the focus (as a clerk would)."""
    for _ in range(limit):
        if await focused(page) == name:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name}; focus is on {await focused(page)}")


async def open_desk(page: Any, slug: str) -> None:
    await login(page, slug, "clerk", PASSWORD)
    await page.goto("/cases/new")
    await page.wait_for_load_state("networkidle")
    assert await focused(page) == "visitor.name"  # autofocus: the clerk types at once


async def type_person(page: Any, name: str, id_number: str, phone: str = "") -> None:
    await page.keyboard.type(name)
    await page.keyboard.press("Tab")
    assert await focused(page) == "visitor.id_number"
    await page.keyboard.type(id_number)
    await page.keyboard.press("Tab")
    assert await focused(page) == "visitor.phone"
    await page.keyboard.type(phone)
    await page.keyboard.press("Tab")


async def test_clerk_registers_a_visit_with_plugin_fields_by_keyboard(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    problems: list[str] = []  # the CSP refuses inline code: htmx, app.js and desk.js must need none
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None
        ),
    )
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    await open_desk(page, t.slug)
    assert await axe_violations(page) == []

    await type_person(page, "张三", ID, "13812345678")
    check = page.locator("#check-f-visitor-id_number")
    await check.get_by_text("有效：1980年1月1日出生，男").wait_for()
    assert await focused(page) == "visitor.address"
    await page.keyboard.type("朝阳区幸福小区 3 号楼 2 单元 301 室")
    await page.keyboard.press("Tab")
    assert await focused(page) == "channel"
    assert await page.locator("select[name=channel]").input_value() == "visit"  # preselected
    await page.keyboard.press("Tab")
    assert await focused(page) == "category"
    await page.keyboard.press("ArrowDown")  # 综合 → 供暖: the plugin's fields appear
    assert await page.locator("select[name=category]").input_value() == "heating"
    await page.locator("input[name='form.building']").wait_for()
    await tab_to(page, "form.estate")
    for value in ("幸福小区", "3号楼", "2单元", "301"):
        await page.keyboard.type(value)
        await page.keyboard.press("Tab")
    assert await focused(page) == "form.account_number"
    await page.keyboard.press("Tab")
    await page.keyboard.type("15")
    await tab_to(page, "locality")
    await page.keyboard.type("朝阳区")
    await tab_to(page, "cause")
    await page.keyboard.type("暖气不热，室温只有 15 度")
    await page.keyboard.press("Tab")
    assert await focused(page) == "demand"
    await page.keyboard.type("尽快维修")
    await screenshot(page, "desk-new", tmp_path)
    assert await axe_violations(page) == []

    async with page.expect_navigation():
        await page.keyboard.press("Control+Enter")  # in a text area: registers
    await page.wait_for_load_state("networkidle")
    assert "/cases/" in page.url and page.url.endswith("?registered=1")
    case_id = int(page.url.split("/cases/")[1].split("?")[0])
    case = await api(server, t, "GET", f"/api/v1/cases/{case_id}")
    title = await page.locator("h1").inner_text()
    assert case["receipt_code"] in title
    assert "登记成功" in await page.get_by_role("status").inner_text()
    assert case["category"] == "heating" and case["channel"] == "visit"
    assert case["form"]["building"] == "3号楼" and case["form"]["indoor_temp"] == 15
    assert case["visitor"]["name"] == "张三" and case["demand"] == "尽快维修"
    await screenshot(page, "desk-registered", tmp_path)
    assert problems == []  # not even a /favicon.ico 404: base.html links an icon
    # The checks went by POST: no personal number in any URL (logs, history, Referer).
    assert any("/cases/new/check" in u for u in urls)
    assert any("/cases/new/fields?category=heating" in u for u in urls)
    assert not [u for u in urls if ID in u or "13812345678" in u]


async def test_a_second_visit_shows_the_earlier_matter_before_submitting(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    first = await api(server, t, "POST", "/api/v1/cases", json=case_body())
    assert first["visitor"]["id_number"] != ID  # masked in the API, of course
    await open_desk(page, t.slug)
    await type_person(page, "张三", valid_id_number())
    warning = page.locator("#desk-repeat .repeat-warn")
    await warning.wait_for()
    text = await warning.inner_text()
    assert "重复访" in text and first["receipt_code"] in text and "1 件" in text
    await screenshot(page, "desk-repeat", tmp_path)
    assert await axe_violations(page) == []

    await tab_to(page, "locality")
    await page.keyboard.type("朝阳区")
    await tab_to(page, "cause")
    await page.keyboard.type(first["cause"])
    await tab_to(page, "locality", limit=40)  # Shift+Tab would do too; Enter in an input
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("?registered=1")
    assert "重复信访" in await page.content()


async def test_a_bad_id_number_shows_its_error_and_saves_nothing(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    before = await count(server, t)
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    await open_desk(page, t.slug)
    await type_person(page, "李四", bad)
    check = page.locator("#check-f-visitor-id_number")
    await check.get_by_text("校验位不正确").wait_for()  # as typed
    await tab_to(page, "cause")
    await page.keyboard.type("路灯不亮")
    await tab_to(page, "locality", limit=40)
    await page.keyboard.type("海淀区")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("/cases/new")
    error = page.locator("#err-f-visitor-id_number")
    assert "校验位不正确" in await error.inner_text()  # next to its field
    assert "校验位不正确" in await page.locator(".error-summary").inner_text()
    field = page.locator("input[name='visitor.id_number']")
    assert await field.input_value() == bad  # as typed
    assert await field.get_attribute("aria-invalid") == "true"
    assert await focused(page) == "visitor.id_number"
    assert await page.locator("textarea[name=cause]").input_value() == "路灯不亮"
    assert await page.locator("input[name=locality]").input_value() == "海淀区"
    assert await count(server, t) == before
    assert await axe_violations(page) == []
    await screenshot(page, "desk-error", tmp_path)


async def test_a_group_visit_asks_for_its_representatives(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    await open_desk(page, t.slug)
    await type_person(page, "王五", valid_id_number(seq=321))
    await tab_to(page, "headcount")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("6")
    reps = page.locator("fieldset.reps")
    await reps.wait_for()
    assert "不超过 5 人" in await reps.inner_text()
    assert await reps.locator("input[name$='.name']").count() == 5
    await page.keyboard.press("Tab")
    assert await focused(page) == "representatives[0].name"
    await page.keyboard.type("赵六")
    await page.keyboard.press("Tab")
    await page.keyboard.type(valid_id_number(seq=555))
    await page.locator("#check-f-representatives-0-id_number").get_by_text("有效").wait_for()
    await tab_to(page, "cause", limit=40)
    await page.keyboard.type("六位村民反映道路积水")
    await screenshot(page, "desk-group", tmp_path)
    assert await axe_violations(page) == []
    async with page.expect_navigation():
        await page.keyboard.press("Control+Enter")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("?registered=1")
    case_id = int(page.url.split("/cases/")[1].split("?")[0])
    case = await api(server, t, "GET", f"/api/v1/cases/{case_id}")
    assert case["is_group"] is True and case["headcount"] == 6
    assert [r["name"] for r in case["representatives"]] == ["赵六"]
