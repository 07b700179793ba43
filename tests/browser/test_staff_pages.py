"""A clerk in a real browser: log in by keyboard, see the tenant's matters (masked),
open one; another tenant's matter answers 404; no serious accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import axe_violations, login, screenshot
from tests.conftest import PASSWORD
from tests.integration.test_platform_api import case_body


async def _register(base: str, tenant: Any, **over: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/v1/cases", json=case_body(**over), headers=tenant.headers())
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_clerk_logs_in_by_keyboard_and_opens_a_matter(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    mine = await _register(server, t)
    theirs = await _register(server, other, cause="另一机构的事项")

    await page.goto("/login")
    assert await axe_violations(page) == []
    await screenshot(page, "login", tmp_path)

    await login(page, t.slug, "clerk", PASSWORD)
    assert page.url == f"{server}/"
    await page.goto("/cases")
    row = page.get_by_role("row").filter(has_text=mine["receipt_code"])
    await row.wait_for()
    text = await row.inner_text()
    assert "张三" in text and "13812345678" not in text and "138" in text  # masked phone
    assert "另一机构的事项" not in await page.content()
    assert await axe_violations(page) == []
    await screenshot(page, "cases", tmp_path)

    await row.get_by_role("link", name=mine["receipt_code"]).click()
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/cases/{mine['id']}")
    assert "暖气不热" in await page.content()
    assert await axe_violations(page) == []
    await screenshot(page, "case", tmp_path)

    answer = await page.goto(f"/cases/{theirs['id']}")
    assert answer is not None and answer.status == 404
    assert "另一机构的事项" not in await page.content()
