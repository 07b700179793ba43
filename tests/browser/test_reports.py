"""The reports page in a real browser: a supervisor opens 报表 from the menu and gets
the month's 矛盾纠纷排查表 and the year's report in two clicks each (pick, download),
the files holding the matters registered through the API; the case list's 「导出 Excel」
carries its filters; a clerk has neither the menu entry nor the page; no serious
accessibility violations."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.browser.conftest import axe_violations, login, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_platform_api import case_body


async def _post(base: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _read(path: Any) -> bytes:
    return Path(path).read_bytes()


def _codes(content: bytes) -> set[str]:
    wb = load_workbook(io.BytesIO(content))
    return {
        str(v)
        for ws in wb.worksheets
        for row in ws.iter_rows(min_row=3, values_only=True)
        for v in row
        if isinstance(v, str) and "-" in v and v[:6].isdigit()
    }


async def test_supervisor_downloads_the_month_sheet_and_the_year_report(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    mine = await _post(server, "/api/v1/cases", case_body(cause="邻里纠纷"), t.headers("clerk"))
    await _post(server, "/api/v1/cases", case_body(cause="另一机构"), other.headers("clerk"))

    await login(page, t.slug, "supervisor", PASSWORD)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="报表").click()
    await page.wait_for_load_state("networkidle")
    assert await page.get_by_role("heading", name="矛盾纠纷排查表").is_visible()
    assert await axe_violations(page) == []
    await screenshot(page, "reports", tmp_path)

    # The month field holds this month: one click downloads its sheet.
    async with page.expect_download() as sheet:
        await page.get_by_role("button", name="下载排查表").click()
    download = await sheet.value
    assert download.suggested_filename.startswith("矛盾纠纷排查表-")
    content = _read(await download.path())
    assert _codes(content) == {mine["receipt_code"]}

    async with page.expect_download() as report:
        await page.get_by_role("button", name="下载年度报告").click()
    download = await report.value
    wb = load_workbook(io.BytesIO(_read(await download.path())))
    assert "信访总量" in wb.sheetnames and t.slug in wb["信访总量"]["A1"].value

    # The case list's export carries the list's filters.
    await page.goto("/cases?status=registered")
    link = page.get_by_role("link", name="导出 Excel")
    href = await link.get_attribute("href")
    assert href.startswith("/api/v1/cases.xlsx?") and "status=registered" in href
    async with page.expect_download() as export:
        await link.click()
    assert _codes(_read(await (await export.value).path())) == {mine["receipt_code"]}


async def test_a_clerk_has_no_reports_page(page: Any, server: str, make_tenant: Any) -> None:
    t = await make_tenant()
    await login(page, t.slug, "clerk", PASSWORD)
    nav = page.get_by_role("navigation", name="主导航")
    assert await nav.get_by_role("link", name="报表").count() == 0
    r = await page.goto("/reports")
    assert r.status == 403
