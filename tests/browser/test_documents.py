"""The case page's documents in a real browser: the 文书 card lists what can be printed
now, each 「打印」 link opens the PDF (with the staff session, no token) in a new tab;
no serious accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import axe_violations, login, new_page, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_documents import text_of
from tests.integration.test_platform_api import case_body


async def test_print_links_open_the_pdfs(
    browser: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    async with httpx.AsyncClient(base_url=server) as http:
        r = await http.post("/api/v1/cases", json=case_body(), headers=t.headers())
        assert r.status_code == 201, r.text
        case = r.json()
        r = await http.post(
            f"/api/v1/cases/{case['id']}/actions/accept", json={}, headers=t.headers()
        )
        assert r.status_code == 200, r.text

    page = await new_page(browser, server)
    await login(page, t.slug, "clerk", PASSWORD)
    await page.goto(f"/cases/{case['id']}")
    card = page.get_by_role("region", name="文书")
    links = card.get_by_role("link", name="打印", exact=False)
    assert await links.count() == 2  # the receipt and the acceptance notice, nothing else
    titles = await card.locator("li").all_inner_texts()
    assert "信访事项登记回执" in titles[0] and "信访事项受理告知书" in titles[1]
    assert await axe_violations(page) == []
    await card.scroll_into_view_if_needed()
    await screenshot(page, "case-documents", tmp_path)

    link = card.get_by_role("link", name="打印信访事项受理告知书（PDF，新窗口）")
    assert await link.get_attribute("target") == "_blank"
    # The tab the link opens reads the PDF with the page's session cookie.
    answer = await page.request.get(str(await link.get_attribute("href")))
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    text = text_of(await answer.body())
    assert "信访事项受理告知书" in text and case["receipt_code"] in text

    # Recording the printed notice as given: a refusal comes back at its form…
    card = page.get_by_role("region", name="文书")
    await card.locator("details.issue > summary").click()
    form = card.locator("form.issue-form")
    await form.get_by_label("送达方式").select_option("post")
    await form.get_by_label("送达日期").fill("2020-01-01")  # before the matter came in
    async with page.expect_navigation():
        await form.get_by_role("button", name="登记已送达").click()
    error = page.get_by_role("region", name="文书").get_by_role("alert")
    assert "不能早于收到信访事项的日期" in await error.inner_text()
    assert await page.get_by_label("送达日期").get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("送达方式").input_value() == "post"  # kept
    assert await axe_violations(page) == []
    await page.get_by_role("region", name="文书").scroll_into_view_if_needed()
    await page.get_by_role("region", name="文书").screenshot(
        path=str(await screenshot(page, "case-documents-issue", tmp_path))
    )
    # …and the right day records it: the notice clock is met.
    await page.get_by_label("送达日期").fill(
        await page.get_by_label("送达日期").get_attribute("max") or ""
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="登记已送达").click()
    assert "已完成：书面告知信访人" in await page.locator(".notice").first.inner_text()
    line = await page.get_by_role("region", name="文书").locator("li").nth(1).inner_text()
    assert "已于" in line and "送达" in line
    assert await page.locator("form.issue-form").count() == 0
    async with httpx.AsyncClient(base_url=server) as http:
        r = await http.get(f"/api/v1/cases/{case['id']}", headers=t.headers())
    assert "notify" not in {d["clock"] for d in r.json()["deadlines"]}
    assert r.json()["events"][-1]["data"]["document"]["kind"] == "acceptance_notice"
    await page.context.close()
