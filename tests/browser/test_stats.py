"""The statistics page in a real browser: a supervisor opens 统计 from the menu, sees
the figures of the matters registered through the API and the four charts drawn by
ECharts (no CSP violation), filters by channel; a bad date is refused at its field; no
serious accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import axe_violations, login, screenshot
from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_platform_api import case_body


async def _post(base: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_supervisor_reads_the_statistics_with_charts(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    other = await make_tenant()
    people = [("张三", 501, "visit"), ("李四", 502, "letter"), ("王五", 503, "phone")]
    ids = []
    for name, seq, channel in people:
        visitor = {"name": name, "id_number": valid_id_number(seq=seq), "phone": "13812345678"}
        case = await _post(
            server,
            "/api/v1/cases",
            case_body(visitor=visitor, channel=channel, cause=f"{name}反映暖气不热"),
            t.headers("clerk"),
        )
        ids.append(case["id"])
    group = case_body(
        visitor={"name": "赵六", "id_number": valid_id_number(seq=504)},
        headcount=7,
        representatives=[{"name": "代表一"}],
        cause="整栋楼停水三天",
        department_id=t.departments["handling"],
    )
    await _post(server, "/api/v1/cases", group, t.headers("clerk"))
    await _post(server, f"/api/v1/cases/{ids[0]}/actions/accept", {}, t.headers("clerk"))
    await _post(
        server,
        f"/api/v1/cases/{ids[0]}/actions/close",
        {"opinion": "support", "opinion_text": "已修复"},
        t.headers("supervisor"),
    )
    await _post(server, "/api/v1/cases", case_body(cause="另一机构"), other.headers("clerk"))

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await login(page, t.slug, "supervisor", PASSWORD)
    await page.get_by_role("link", name="统计").click()
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("/stats")
    await page.locator("#stats-charts[data-drawn=true]").wait_for()
    figures = await page.locator("ul.figures").inner_text()
    # 4 matters of 1+1+1+7 people; 1 accepted and closed on time → 办结率 1/1 = 100%.
    assert "登记批次\n4" in figures.replace(" ", "") or "登记批次 4" in figures, figures
    assert "人次 10" in figures.replace("\n", " "), figures
    assert "办结率 100.0%" in figures.replace("\n", " "), figures
    assert await page.locator(".chart svg").count() == 4  # every chart drawn
    channel = page.get_by_role("table", name="按渠道")
    assert "来访" in await channel.inner_text()
    assert errors == [], errors  # no CSP refusal, no script error
    assert await axe_violations(page) == []
    await screenshot(page, "stats", tmp_path)

    await page.get_by_role("combobox", name="渠道").select_option("letter")
    async with page.expect_navigation():
        await page.get_by_role("button", name="统计").click()
    await page.locator("#stats-charts[data-drawn=true]").wait_for()
    figures = (await page.locator("ul.figures").inner_text()).replace("\n", " ")
    assert "登记批次 1" in figures and "人次 1" in figures, figures

    answer = await page.goto("/stats?from=2026-13-01")
    assert answer is not None and answer.status == 400
    field = page.get_by_label("登记日期自")
    assert await field.get_attribute("aria-invalid") == "true"
    assert "日期格式" in await page.locator("#err-from").inner_text()
    assert await axe_violations(page) == []

    answer = await page.goto(f"/stats?department_id={other.departments['handling']}")
    assert answer is not None and answer.status == 404  # another organization's department
    assert "部门不存在" in await page.locator("#err-department_id").inner_text()
