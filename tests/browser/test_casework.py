"""Case work in a real browser (issue #13): 查看完整信息 with a reason, attachments
uploaded and downloaded, the inbox's read state, and the desk's accused fields of a
检举控告 — with no serious accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from daemon.notify.jobs import run_deliver
from tests.browser.conftest import axe_violations, login, screenshot
from tests.browser.test_desk import open_desk
from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_casework import audit_rows, png
from tests.integration.test_platform_api import case_body
from tests.integration.test_reminders import at

ID_NUMBER = valid_id_number()  # case_body()'s visitor


async def api(base: str, headers: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.request(method, path, headers=headers, **kw)
    assert r.status_code < 300, r.text
    return r.json()


async def test_reveal_with_a_reason_shows_the_full_id_number(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    case = await api(server, t.headers(), "POST", "/api/v1/cases", json=case_body())
    await login(page, t.slug, "clerk", PASSWORD)
    await page.goto(f"/cases/{case['id']}")
    person = page.locator("#person-facts")
    assert ID_NUMBER not in await person.inner_text()

    await page.get_by_text("查看完整信息", exact=True).click()
    reason = page.get_by_label("查看理由")
    await reason.wait_for(state="visible")
    # No reason: the message stands at the field, nothing is shown.
    await page.get_by_role("button", name="查看", exact=True).click()
    error = page.locator("#person-facts .field-error")
    await error.wait_for(state="visible")
    assert "理由" in await error.inner_text()
    assert ID_NUMBER not in await person.inner_text()

    await page.get_by_label("查看理由").fill("电话告知受理结果")
    await page.get_by_role("button", name="查看", exact=True).click()
    full = page.locator("#person-id_number strong")
    await full.wait_for(state="visible")
    assert await full.inner_text() == ID_NUMBER
    assert "13812345678" in await page.locator("#person-phone").inner_text()
    assert "已显示完整信息" in await person.inner_text()
    assert await axe_violations(page) == []
    await screenshot(page, "case-reveal", tmp_path)

    # The audit log has the reveal, its fields and reason — not the values.
    [row] = await audit_rows(t, "reveal")
    assert row["detail"]["reason"] == "电话告知受理结果" and row["actor"] == "clerk"
    assert ID_NUMBER not in str(row)


async def test_upload_a_png_and_download_it(
    page: Any, server: str, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    case = await api(server, t.headers(), "POST", "/api/v1/cases", json=case_body())
    await login(page, t.slug, "clerk", PASSWORD)
    await page.goto(f"/cases/{case['id']}")
    image = png()
    await page.get_by_label("上传附件").set_input_files(
        {"name": "来信扫描.png", "mimeType": "image/png", "buffer": image}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="上传", exact=True).click()
    await page.wait_for_load_state("networkidle")
    assert "附件已上传" in await page.locator("#attachments").inner_text()
    link = page.get_by_role("link", name="来信扫描.png")
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    saved = tmp_path / "downloaded.png"
    await download.save_as(saved)
    assert saved.read_bytes() == image

    # A file that is not PDF/JPEG/PNG by its content: refused at the input.
    await page.get_by_label("上传附件").set_input_files(
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00" * 10}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="上传", exact=True).click()
    assert "只能上传 PDF、JPEG 或 PNG" in await page.locator("#err-attachment").inner_text()
    await page.goto(f"/cases/{case['id']}#attachments")
    assert await axe_violations(page) == []
    await page.locator("#attachments").scroll_into_view_if_needed()
    await page.locator("#attachments").screenshot(path=str(tmp_path / "section.png"))
    await screenshot(page, "case-attachments", tmp_path)


async def test_inbox_marks_read_when_opened_and_all_at_once(
    page: Any, server: str, rt: Any, make_tenant: Any, tmp_path: Path
) -> None:
    from core.db.engine import tenant_tx
    from core.services.events import enqueue

    t = await make_tenant()
    case = await api(server, t.headers(), "POST", "/api/v1/cases", json=case_body())
    async with tenant_tx(t.id):
        for i, (title, link) in enumerate(
            [
                ("【提醒】受理期限将至", f"/cases/{case['id']}"),
                ("【催办】请尽快办理", f"/cases/{case['id']}"),
                ("排班已发布", "/rota"),
            ]
        ):
            await enqueue(
                t.scope(rt),
                "test",
                dedupe_key=f"b{i}",
                at=at("2026-09-16"),
                payload={"title": title, "body": "请及时处理。", "link": link},
                recipient_id=t.users["clerk"]["id"],
            )
    await run_deliver(rt, tenants=[t.id], now=at("2026-09-16", 10))

    await login(page, t.slug, "clerk", PASSWORD)
    await page.goto("/inbox")
    await page.wait_for_load_state("networkidle")
    badge = page.locator("#nav-unread")
    assert (await badge.inner_text()).startswith("3")
    assert await page.locator("li.message.unread").count() == 3
    assert await axe_violations(page) == []

    # Opening a message's case marks it read.
    first = page.locator("li.message", has_text="受理期限将至")
    async with page.expect_navigation():
        await first.get_by_role("link", name="查看", exact=False).click()
    assert page.url.endswith(f"/cases/{case['id']}")
    await page.goto("/inbox")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("li.message.unread").count() == 2
    assert (await page.locator("#nav-unread").inner_text()).startswith("2")
    assert await axe_violations(page) == []
    await screenshot(page, "inbox", tmp_path)  # read and unread side by side

    async with page.expect_navigation():
        await page.get_by_role("button", name="全部标为已读").click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("li.message.unread").count() == 0
    assert "已将 2 条消息标为已读" in await page.locator(".notice").inner_text()
    assert await page.locator("#nav-unread").inner_text() == ""


async def test_desk_shows_the_accused_fields_for_an_accusation(
    page: Any, server: str, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await open_desk(page, t.slug)
    accused = page.locator("#desk-accused")
    assert await accused.is_hidden()
    await page.get_by_label("信访目的").select_option("accusation")
    await accused.wait_for(state="visible")
    await page.locator('[name="visitor.name"]').fill("检举人")
    await page.locator('[name="cause"]').fill("工作人员办事索要好处费")
    await page.get_by_label("被检举控告的人员").select_option(str(t.users["handler"]["id"]))
    await page.get_by_label("被检举控告人情况").fill("窗口工作人员")
    assert await axe_violations(page) == []
    async with page.expect_navigation():
        await page.get_by_role("button", name="登记", exact=True).click()
    assert "登记成功" in await page.locator(".notice").first.inner_text()
    cid = int(page.url.split("/cases/")[1].split("?")[0])
    async with httpx.AsyncClient(base_url=server) as http:
        r = await http.get(f"/api/v1/cases/{cid}", headers=t.headers("handler"))
        assert r.status_code == 404  # the accused never sees it
        r = await http.get(f"/api/v1/cases/{cid}", headers=t.headers("clerk"))
        assert r.json()["purpose"] == "accusation"
    # Back to another purpose: the fields go away again.
    await page.goto("/cases/new")
    await page.get_by_label("法定类别").select_option("accusation")
    await accused.wait_for(state="visible")
    await page.get_by_label("法定类别").select_option("claim")
    await accused.wait_for(state="hidden")
