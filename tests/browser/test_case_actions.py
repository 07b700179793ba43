"""The case page's actions in a real browser (issue #13): a clerk accepts, the handler
takes the matter up and reports, a supervisor approves; the buttons open their forms,
the forms post with the page's version; no serious accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import axe_violations, login, new_page, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_platform_api import case_body


async def _register(base: str, tenant: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/v1/cases", json=case_body(), headers=tenant.headers())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _open(page: Any, action: str) -> Any:
    """Press the action's button; its form opens below it."""
    await page.locator(f'details:has(form[action$="/act/{action}"]) > summary').click()
    form = page.locator(f'form[action$="/act/{action}"]')
    await form.wait_for(state="visible")
    return form


async def _send(page: Any, form: Any) -> None:
    async with page.expect_navigation():
        await form.get_by_role("button").click()
    await page.wait_for_load_state("networkidle")


async def test_accept_report_and_approve_on_the_case_page(
    browser: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    case = await _register(server, t)
    url = f"/cases/{case['id']}"

    clerk = await new_page(browser, server)
    await login(clerk, t.slug, "clerk", PASSWORD)
    await clerk.goto(url)
    form = await _open(clerk, "not_accept")  # the richest form of the first step
    assert await axe_violations(clerk) == []
    await screenshot(clerk, "case-actions", tmp_path)
    form = await _open(clerk, "accept")
    await form.get_by_label("说明").fill("属本机关职责范围")
    await _send(clerk, form)
    assert clerk.url.endswith(f"{url}?done=accept")
    assert "已完成：受理" in await clerk.locator(".notice").inner_text()
    await clerk.context.close()

    handler = await new_page(browser, server)
    await login(handler, t.slug, "handler", PASSWORD)
    await handler.goto(url)
    await _send(handler, await _open(handler, "start_handling"))
    form = await _open(handler, "report")
    await form.get_by_label("回告内容（办理情况）").fill("已修复管道，室温 20 度")
    await _send(handler, form)
    assert "已完成：回告" in await handler.locator(".notice").inner_text()
    await handler.context.close()

    supervisor = await new_page(browser, server)
    await login(supervisor, t.slug, "supervisor", PASSWORD)
    await supervisor.goto(url)
    form = await _open(supervisor, "approve_report")
    await form.get_by_label("处理意见", exact=False).first.select_option("support")
    await form.get_by_label("处理意见书内容").fill("支持，已修复")
    assert await axe_violations(supervisor) == []
    await screenshot(supervisor, "case-actions-approve", tmp_path)
    await _send(supervisor, form)
    assert "已完成：审查通过并办结" in await supervisor.locator(".notice").inner_text()
    assert "已办结" in await supervisor.locator("h1").inner_text()
    await supervisor.context.close()
