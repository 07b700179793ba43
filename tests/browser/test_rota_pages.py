"""The reception rota in a real browser: a scheduler creates a template (a refusal stands
at its field), previews and generates the slots, publishes them (the leaders' notices
are queued); a leader sees their days on /rota/mine, copies their private calendar link,
whose feed has their day, resets it (the old link stops answering), requests a swap,
which the scheduler approves on /rota; another tenant's template and slot are 404 on the
pages; axe-core finds no serious or critical violation; screenshots rota.png and
rota-mine.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.browser.conftest import axe_violations, login, new_page, screenshot
from tests.browser.test_admin import watch
from tests.conftest import PASSWORD
from tests.integration.test_rota_api import outbox, vevents


@pytest.fixture
async def clock(rt: Any) -> AsyncIterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(datetime(2026, 9, 20, 10, 0, tzinfo=TIMEZONE))  # a Sunday
    yield rt.clock
    rt.clock = saved


async def second_leader(rt: Any, t: Any) -> int:
    from core.services import users

    made = await users.create_user(
        t.scope(rt),
        username="leader2",
        display_name="王副局长",
        password=PASSWORD,
        roles=["leader"],
    )
    return made.id


async def test_scheduler_publishes_and_leader_subscribes_swaps(
    browser: Any, page: Any, server: str, make_tenant: Any, rt: Any, clock: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    await second_leader(rt, t)
    problems = watch(page)
    await login(page, t.slug, "admin", PASSWORD)
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="接访排班").click()
    await page.wait_for_load_state("networkidle")
    assert page.url == f"{server}/rota"
    assert await axe_violations(page) == []

    # A template: refused without its name (the message at the field, nothing saved).
    await page.get_by_role("link", name="新建排班模板").click()
    form = page.locator("form.rota-form")
    await form.get_by_label("排班标识").fill("monday")
    await form.get_by_label("接待地点").fill("一楼接待大厅")
    await form.get_by_label("接访主题").fill("供热\n物业")
    await form.get_by_label("提前生成周数").fill("4")
    rotation = form.get_by_role("group", name="轮值领导")
    await rotation.get_by_label("leader-user").check()
    await rotation.get_by_label("王副局长").check()
    async with page.expect_navigation():
        await form.get_by_role("button", name="创建模板").click()
    assert "请填写排班名称" in await page.locator("#err-f-title_zh").inner_text()
    assert await page.evaluate("document.activeElement.name") == "title_zh"
    assert await axe_violations(page) == []
    await screenshot(page, "rota-template", tmp_path)
    assert await form.get_by_label("排班标识").input_value() == "monday"  # kept as typed
    await form.get_by_label("排班名称").fill("领导信访接待日")
    async with page.expect_navigation():
        await form.get_by_role("button", name="创建模板").click()
    assert page.url.startswith(f"{server}/rota?")
    assert "已创建排班模板" in await page.get_by_role("status").inner_text()

    # Both leaders away on 12/10 (the leave form; its refusal at its field first).
    leave = page.locator("form", has=page.get_by_role("heading", name="登记请假"))
    await leave.get_by_label("请假人员").select_option(label="leader-user")
    await leave.get_by_label("开始日期").fill("2026-10-12")
    await leave.get_by_label("结束日期").fill("2026-10-11")
    async with page.expect_navigation():
        await leave.get_by_role("button", name="登记请假").click()
    assert "不能早于开始日期" in await page.locator("#err-f-last_day").inner_text()
    for name in ("leader-user", "王副局长"):
        await leave.get_by_label("请假人员").select_option(label=name)
        await leave.get_by_label("开始日期").fill("2026-10-12")
        await leave.get_by_label("结束日期").fill("2026-10-12")
        async with page.expect_navigation():
            await leave.get_by_role("button", name="登记请假").click()
        assert "已登记请假" in await page.get_by_role("status").inner_text()
    assert await page.locator("#leave tbody tr").count() == 2

    # Preview: Mondays 21/9, 28/9, 5/10 (National Day: moved to 8/10), both halves; 12/10
    # has nobody free.
    await page.get_by_role("link", name="预览生成").click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#preview-count").inner_text() == "6"
    main = await page.locator("main").inner_text()
    assert "原定 2026-10-05 为国庆节休息日" in main
    unfilled = page.locator("section", has=page.get_by_role("heading", name="无人可排的时段"))
    assert await unfilled.locator("tbody tr").count() == 2
    assert "2026年10月12日" in await unfilled.inner_text()
    assert await axe_violations(page) == []
    await screenshot(page, "rota-generate", tmp_path)
    async with page.expect_navigation():
        await page.get_by_role("button", name="生成 6 个草稿时段").click()
    assert "已生成 6 个排班草稿时段" in await page.get_by_role("status").inner_text()
    assert await page.locator("#draft-count").inner_text() == "6"

    # Publish: the leaders' notices are queued for the worker.
    async with page.expect_navigation():
        await page.get_by_role("button", name="发布", exact=True).click()
    notice = await page.get_by_role("status").inner_text()
    assert "已发布 6 个时段" in notice and "2 位值班领导排队发送" in notice, notice
    queued = await outbox(rt, t, "rota.published")
    assert len(queued) == 2
    assert {q["payload"]["link"] for q in queued} == {"/rota/mine"}
    assert await page.locator("#draft-count").inner_text() == "0"
    # Today is a Sunday: the week shown is the coming one.
    assert await page.locator("table.slots .st-published").count() == 2  # Monday 21/9
    assert await axe_violations(page) == []
    await screenshot(page, "rota", tmp_path)
    await page.goto("/rota?view=month&start=2026-10-01")
    assert await page.locator("table.slots .st-published").count() == 2  # 8/10
    await page.get_by_role("link", name="上一月").click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("table.slots .st-published").count() == 4  # 21/9, 28/9

    # Editing a template: what is generated from now on; the key stays.
    await page.goto("/rota")
    await page.get_by_role("link", name="编辑 领导信访接待日").click()
    await page.wait_for_load_state("networkidle")
    form = page.locator("form.rota-form")
    assert await form.get_by_label("排班标识").get_attribute("readonly") is not None
    assert await form.get_by_label("接访主题").input_value() == "供热\n物业"
    await form.get_by_label("接待地点").fill("二楼接待室")
    async with page.expect_navigation():
        await form.get_by_role("button", name="保存模板").click()
    assert "已保存排班模板" in await page.get_by_role("status").inner_text()
    assert "二楼接待室" in await page.locator("section").first.inner_text()  # the templates

    # The leader: their days, and their private calendar link.
    leader = await new_page(browser, server)
    await leader.context.grant_permissions(["clipboard-read", "clipboard-write"])
    lproblems = watch(leader)
    await login(leader, t.slug, "leader", PASSWORD)
    await leader.goto("/rota")  # where older notices link: a leader sees their days
    assert await leader.get_by_role("heading", name="我的接访日").count() == 1
    await (
        leader.get_by_role("navigation", name="主导航")
        .get_by_role("link", name="我的接访日")
        .click()
    )
    await leader.wait_for_load_state("networkidle")
    assert leader.url == f"{server}/rota/mine"
    rows = leader.locator("table.list tbody tr")
    mine = await rows.count()
    assert mine == 4  # 21/9 and 8/10 (two leaders in turn, the same leader all day)
    assert "一楼接待大厅" in await rows.first.inner_text()
    assert "供热、物业" in await rows.first.inner_text()
    assert await leader.get_by_text("已发布").count() >= mine
    async with leader.expect_navigation():
        await leader.get_by_role("button", name="生成订阅链接").click()
    await leader.get_by_role("button", name="复制链接").click()
    await leader.get_by_text("已复制到剪贴板").wait_for()
    url = await leader.evaluate("navigator.clipboard.readText()")
    assert url == await leader.locator("#feed-url").input_value()
    assert "/leaders/" in url and url.endswith(".ics")
    path = url[url.index("/t/") :]
    async with httpx.AsyncClient(base_url=server) as http:
        feed = await http.get(path)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    days = {e["DTSTART"][:8] for e in vevents(feed.text)}
    assert "20260921" in days, days
    assert await axe_violations(leader) == []
    await screenshot(leader, "rota-mine", tmp_path)

    # Reset: a new link; the old one stops answering.
    await leader.goto("/rota/mine")
    async with leader.expect_navigation():
        await leader.get_by_role("button", name="重置链接（原链接立即失效）").click()
    new_url = await leader.locator("#feed-url").input_value()
    assert new_url != url
    async with httpx.AsyncClient(base_url=server) as http:
        assert (await http.get(path)).status_code == 404
        assert (await http.get(new_url[new_url.index("/t/") :])).status_code == 200

    # A swap: refused without a reason, then requested; the scheduler approves it.
    await leader.goto("/rota/mine")
    await leader.get_by_role("link", name="申请调换").first.click()
    await leader.wait_for_load_state("networkidle")
    await leader.get_by_label("调换给").select_option(label="王副局长")
    async with leader.expect_navigation():
        await leader.get_by_role("button", name="提交申请").click()
    assert "请填写调换理由" in await leader.locator("#err-f-reason").inner_text()
    assert await axe_violations(leader) == []
    await leader.get_by_label("调换理由").fill("当天赴省里开会")
    async with leader.expect_navigation():
        await leader.get_by_role("button", name="提交申请").click()
    assert "已提交调换申请" in await leader.get_by_role("status").inner_text()
    assert await leader.get_by_text("调换待审批").count() == 1

    await page.goto("/rota")
    pending = page.locator("#changes tbody tr")
    assert await pending.count() == 1
    assert "当天赴省里开会" in await pending.inner_text()
    async with page.expect_navigation():
        await pending.get_by_role("button", name="批准").click()
    assert "已批准调换" in await page.get_by_role("status").inner_text()
    assert await page.locator("#changes tbody tr").count() == 0

    await leader.goto("/rota/mine")
    assert await leader.locator("table.list tbody tr").count() == mine - 1
    assert await leader.get_by_text("已批准").count() == 1
    # The refused forms answered 422, which the console reports; nothing else.
    assert [p for p in problems + lproblems if "status of 422" not in p] == []
    await leader.context.close()


async def test_another_tenants_template_and_slot_are_404(
    browser: Any, page: Any, server: str, make_tenant: Any, rt: Any, clock: Any
) -> None:
    from core.services import rota
    from core.services.rota.schemas import PublishIn, TemplateIn

    a = await make_tenant()
    b = await make_tenant()
    admin_a = a.acting(rt, await _principal(rt, a, "admin"))
    made = await rota.create_template(
        admin_a,
        TemplateIn(
            key="monday",
            title_zh="领导信访接待日",
            leaders=[a.users["leader"]["id"]],
            weekdays=[0],
        ),
    )
    await rota.generate(admin_a)
    await rota.publish(admin_a, PublishIn())
    slot = (await rota.list_slots(admin_a))[0]
    await login(page, b.slug, "admin", PASSWORD)
    for path in (f"/rota/templates/{made.id}", f"/rota/slots/{slot.id}"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 404, path
    leader_b = await new_page(browser, server)
    await login(leader_b, b.slug, "leader", PASSWORD)
    answer = await leader_b.goto(f"/rota/mine/slots/{slot.id}/swap")
    assert answer is not None and answer.status == 404
    await leader_b.context.close()
    # Its own admin sees them.
    own = await new_page(browser, server)
    await login(own, a.slug, "admin", PASSWORD)
    for path in (f"/rota/templates/{made.id}", f"/rota/slots/{slot.id}"):
        answer = await own.goto(path)
        assert answer is not None and answer.status == 200, path
    assert await axe_violations(own) == []
    await own.context.close()


async def _principal(rt: Any, t: Any, role: str) -> Any:
    from core.services import users

    return await users.principal_for(t.scope(rt), t.users[role]["id"])
