"""Case work in the browser and the API (issue #13): 查看完整信息 with a reason and an
audit row, attachments checked by their content and stored once by hash, and the inbox's
read state — on both engines."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.tables import AuditLog
from daemon.notify.jobs import run_deliver
from tests.conftest import TenantFixture, valid_id_number
from tests.integration.test_case_actions_page import csrf, page
from tests.integration.test_case_page import login
from tests.integration.test_lifecycle import register
from tests.integration.test_reminders import at
from tests.integration.test_repeats_and_accused import staff

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}
ID_NUMBER = valid_id_number(seq=321)  # test_lifecycle.body()'s visitor
PHONE = "13900001111"
REASON = "电话告知受理结果"


def png(extra: int = 0) -> bytes:
    """A real (1×1) PNG, padded with ``extra`` bytes in a private chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pad = chunk(b"xpAD", b"\0" * extra) if extra else b""
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + pad
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


async def audit_rows(t: TenantFixture, action: str) -> list[dict[str, Any]]:
    async with tenant_tx(t.id, write=False):
        rows = await AuditLog.select().where(
            (AuditLog.tenant_id == t.id) & (AuditLog.action == action)
        )
    return [{**r, "detail": json.loads(r["detail"])} for r in rows]


def blobs(rt: Any, t: TenantFixture) -> list[Path]:
    root = Path(rt.settings.data_dir) / "attachments" / str(t.id)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- 查看完整信息 -------------------------------------------------------------------------


async def test_reveal_through_the_api_returns_the_values_and_audits_why(
    client: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    case = await register(client, t)
    vid = case["visitor"]["id"]
    assert case["visitor"]["id_number"] != ID_NUMBER  # masked in the answer
    url = f"/api/v1/visitors/{vid}/reveal"

    # No reason, a too short one, no fields: 422 naming the field, nothing recorded.
    for body, field in (
        ({"fields": ["id_number"], "reason": ""}, "reason"),
        ({"fields": ["id_number"], "reason": " 看 "}, "reason"),
        ({"fields": [], "reason": REASON}, "fields"),
    ):
        r = await client.post(url, json=body, headers=t.headers("clerk"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
    assert await audit_rows(t, "reveal") == []

    body = {"fields": ["phone", "id_number"], "reason": REASON, "case_id": case["id"]}
    r = await client.post(url, json=body, headers=t.headers("clerk"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id_number"] == ID_NUMBER and got["phone"] == PHONE
    assert got["address"] is None and got["fields"] == ["id_number", "phone"]
    assert "no-store" in r.headers["cache-control"]
    [row] = await audit_rows(t, "reveal")
    assert row["actor"] == "clerk" and row["actor_id"] == t.users["clerk"]["id"]
    assert row["target"] == f"case:{case['id']}"
    assert row["detail"] == {
        "fields": ["id_number", "phone"],
        "reason": REASON,
        "visitor_id": vid,
        "case_id": case["id"],
    }
    assert ID_NUMBER not in json.dumps(row, default=str) and PHONE not in json.dumps(
        row, default=str
    )

    # Another tenant: the person does not exist there.
    r = await client.post(url, json=body, headers=other.headers("clerk"))
    assert r.status_code == 404
    r = await client.post(
        url, json={"fields": ["phone"], "reason": REASON}, headers=other.headers("clerk")
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "visitor_not_found"
    assert await audit_rows(other, "reveal") == []


async def test_an_accused_cannot_reveal_the_complainant(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    accused, as_accused = await staff(client, rt, t, "officer7", ["clerk"])
    case = await register(
        client,
        t,
        purpose="accusation",
        legal_category="accusation",
        visitor={"name": "举报人", "id_number": valid_id_number(seq=777), "phone": "13700007777"},
        accused={"user_ids": [accused["id"]]},
    )
    vid = case["visitor"]["id"]
    url = f"/api/v1/visitors/{vid}/reveal"
    for body in (
        {"fields": ["phone"], "reason": REASON},
        {"fields": ["phone"], "reason": REASON, "case_id": case["id"]},
    ):
        r = await client.post(url, json=body, headers=as_accused)
        assert r.status_code == 404, r.text
        assert "13700007777" not in r.text
    # A colleague who may see it may reveal.
    r = await client.post(
        url, json={"fields": ["phone"], "reason": REASON}, headers=t.headers("clerk")
    )
    assert r.status_code == 200 and r.json()["phone"] == "13700007777"
    # A case of another person cannot vouch for this one.
    mine = await register(client, t, visitor={"name": "王五", "phone": "13600006666"})
    r = await client.post(
        url,
        json={"fields": ["phone"], "reason": REASON, "case_id": mine["id"]},
        headers=t.headers("clerk"),
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "case_id"


async def test_reveal_on_the_case_page_needs_a_reason_and_swaps_in_the_values(
    client: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    case = await register(client, t)
    cid = case["id"]
    await login(client, t, "clerk")
    text = await page(client, cid)
    assert "查看完整信息" in text and ID_NUMBER not in text and PHONE not in text
    token = csrf(text)
    hx = {**HTML, "hx-request": "true"}

    r = await client.post(
        f"/cases/{cid}/reveal",
        data={"_csrf_token": token, "fields": ["id_number"], "reason": ""},
        headers=hx,
    )
    assert r.status_code == 422
    assert "理由" in r.text and 'aria-invalid="true"' in r.text and ID_NUMBER not in r.text
    assert "<html" not in r.text  # the block only

    r = await client.post(
        f"/cases/{cid}/reveal", data={"_csrf_token": token, "reason": REASON}, headers=hx
    )
    assert r.status_code == 422 and 'id="err-reveal-fields-' in r.text
    assert 'name="fields" value="phone" checked' not in r.text  # as the clerk left them
    r = await client.post(
        f"/cases/{cid}/reveal",
        data={"_csrf_token": token, "fields": ["id_number", "phone"], "reason": REASON},
        headers=hx,
    )
    assert r.status_code == 200, r.text
    assert ID_NUMBER in r.text and PHONE in r.text and "已显示完整信息" in r.text
    assert "no-store" in r.headers["cache-control"]
    [row] = await audit_rows(t, "reveal")
    assert row["detail"]["fields"] == ["id_number", "phone"]
    assert row["detail"]["reason"] == REASON and row["actor"] == "clerk"

    # Without htmx: the whole page with the values; without the CSRF token: refused.
    r = await client.post(
        f"/cases/{cid}/reveal",
        data={"_csrf_token": token, "fields": ["address"], "reason": REASON},
        headers=HTML,
    )
    assert r.status_code == 200 and "<html" in r.text and "已显示完整信息" in r.text
    r = await client.post(
        f"/cases/{cid}/reveal", data={"fields": ["phone"], "reason": REASON}, headers=HTML
    )
    assert r.status_code == 403
    # Another tenant's case: 404 and nothing recorded there.
    await login(client, other, "clerk")
    token = csrf((await client.get("/inbox", headers=HTML)).text)
    r = await client.post(
        f"/cases/{cid}/reveal",
        data={"_csrf_token": token, "fields": ["phone"], "reason": REASON},
        headers=hx,
    )
    assert r.status_code == 404 and PHONE not in r.text
    assert len(await audit_rows(t, "reveal")) == 2


# --- attachments ------------------------------------------------------------------------


async def upload(
    client: Any,
    t: TenantFixture,
    cid: int,
    data: bytes,
    name: str,
    ctype: str = "application/pdf",
    role: str = "clerk",
) -> Any:
    return await client.post(
        f"/api/v1/cases/{cid}/attachments",
        files={"file": (name, data, ctype)},
        headers=t.headers(role),
    )


async def test_attachments_are_typed_by_content_and_stored_once_per_tenant(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    cid = (await register(client, t))["id"]
    image = png()

    # A .pdf name with PNG content is stored as the PNG it is.
    r = await upload(client, t, cid, image, "../../扫描 件.pdf")
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["content_type"] == "image/png" and att["size"] == len(image)
    assert att["filename"] == "扫描 件.png"
    assert att["uploaded_by"] == t.users["clerk"]["id"]
    [blob] = blobs(rt, t)
    assert blob.name == att["sha256"] and blob.read_bytes() == image

    d = await client.get(f"/api/v1/cases/{cid}/attachments/{att['id']}", headers=t.headers())
    assert d.status_code == 200 and d.content == image
    assert d.headers["content-type"].startswith("image/png")
    assert d.headers["content-disposition"].startswith("attachment;")
    assert d.headers["x-content-type-options"] == "nosniff"
    listed = (await client.get(f"/api/v1/cases/{cid}/attachments", headers=t.headers())).json()
    assert [a["id"] for a in listed] == [att["id"]]
    [row] = await audit_rows(t, "case.attachment_added")
    assert row["target"] == f"case:{cid}" and row["detail"]["sha256"] == att["sha256"]

    # The same content again: on the same case, the attachment there is; on another
    # case, a new row over the same stored file.
    again = await upload(client, t, cid, image, "again.png", "image/png")
    assert again.status_code == 200 and again.json()["id"] == att["id"]
    cid2 = (await register(client, t, cause="另一件事"))["id"]
    second = await upload(client, t, cid2, image, "copy.png", "image/png")
    assert second.status_code == 201 and second.json()["sha256"] == att["sha256"]
    assert len(blobs(rt, t)) == 1

    # Refused, nothing written: not a PDF/JPEG/PNG by content, empty.
    exe = b"MZ\x90\x00\x03" + b"\0" * 200
    r = await upload(client, t, cid, exe, "invoice.pdf")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_type"
    assert r.json()["error"]["field"] == "file"
    r = await client.post(f"/api/v1/cases/{cid}/attachments", headers=t.headers())
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_required"
    r = await client.post(f"/api/v1/cases/{cid}/attachments", headers=other.headers())
    assert r.status_code == 404
    r = await upload(client, t, cid, b"", "empty.pdf")
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty"
    assert len(blobs(rt, t)) == 1
    listed = (await client.get(f"/api/v1/cases/{cid}/attachments", headers=t.headers())).json()
    assert len(listed) == 1
    assert len(await audit_rows(t, "case.attachment_added")) == 2

    # Another tenant: the case and its files do not exist.
    for path in (
        f"/api/v1/cases/{cid}/attachments",
        f"/api/v1/cases/{cid}/attachments/{att['id']}",
    ):
        r = await client.get(path, headers=other.headers())
        assert r.status_code == 404, path
    r = await upload(client, other, cid, image, "x.png", "image/png")
    assert r.status_code == 404 and blobs(rt, other) == []
    # Another case's attachment id under this case: 404.
    r = await client.get(
        f"/api/v1/cases/{cid}/attachments/{second.json()['id']}", headers=t.headers()
    )
    assert r.status_code == 404


async def test_attachment_size_follows_the_tenant_setting(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    cid = (await register(client, t))["id"]
    # 3 MB: over the app's general body limit, under the default 10 MB.
    big = png(3 * 1024 * 1024)
    r = await upload(client, t, cid, big, "scan.png", "image/png")
    assert r.status_code == 201, r.text[:300]
    settings = (await client.get("/api/v1/tenant/settings", headers=t.headers("admin"))).json()
    assert settings["attachment_max_mb"] is None and settings["defaults"]["attachment_max_mb"] == 10
    body = {
        "name": settings["name"],
        "rule_pack": settings["rule_pack"],
        "attachment_max_mb": 1,
    }
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["attachment_max_mb"] == 1
    before = blobs(rt, t)
    r = await upload(client, t, cid, png(1024 * 1024), "big.png", "image/png")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert r.json()["error"]["field"] == "file"
    assert blobs(rt, t) == before
    r = await upload(client, t, cid, png(512 * 1024), "fits.png", "image/png")
    assert r.status_code == 201


async def test_an_accused_cannot_list_or_download_the_attachments(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    accused, as_accused = await staff(client, rt, t, "officer9", ["clerk"])
    cid = (
        await register(
            client,
            t,
            purpose="accusation",
            legal_category="accusation",
            accused={"user_ids": [accused["id"]]},
        )
    )["id"]
    att = (await upload(client, t, cid, png(), "evidence.png", "image/png")).json()
    for path in (
        f"/api/v1/cases/{cid}/attachments",
        f"/api/v1/cases/{cid}/attachments/{att['id']}",
    ):
        assert (await client.get(path, headers=as_accused)).status_code == 404
    r = await client.post(
        f"/api/v1/cases/{cid}/attachments",
        files={"file": ("x.png", png(1), "image/png")},
        headers=as_accused,
    )
    assert r.status_code == 404


async def test_attachments_on_the_case_page_upload_and_download(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    cid = (await register(client, t))["id"]
    await login(client, t, "clerk")
    text = await page(client, cid)
    assert "暂无附件" in text and 'enctype="multipart/form-data"' in text
    token = csrf(text)
    r = await client.post(
        f"/cases/{cid}/attachments",
        data={"_csrf_token": token},
        files={"file": ("来信.PDF", b"%PDF-1.4\n%%EOF\n", "application/octet-stream")},
        headers=HTML,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/cases/{cid}?attached=added#attachments"
    text = await page(client, cid)
    link = re.search(rf'href="(/cases/{cid}/attachments/\d+)"', text)
    assert link and "来信.pdf" in text
    d = await client.get(link.group(1))
    assert d.status_code == 200 and d.content.startswith(b"%PDF-")
    assert "attachment" in d.headers["content-disposition"]
    assert d.headers["x-content-type-options"] == "nosniff"

    r = await client.post(
        f"/cases/{cid}/attachments",
        data={"_csrf_token": token},
        files={"file": ("photo.png", b"GIF89a" + b"\0" * 20, "image/png")},
        headers=HTML,
    )
    assert r.status_code == 422
    assert "只能上传 PDF、JPEG 或 PNG" in r.text and 'id="err-attachment"' in r.text
    # No CSRF token: refused.
    r = await client.post(
        f"/cases/{cid}/attachments", files={"file": ("a.png", png(), "image/png")}, headers=HTML
    )
    assert r.status_code == 403
    await login(client, other, "clerk")
    assert (await client.get(link.group(1))).status_code == 404


# --- the inbox's read state ---------------------------------------------------------------


async def deliver(rt: Any, t: TenantFixture, recipient: int, links: list[str]) -> None:
    from core.services.events import enqueue

    async with tenant_tx(t.id):
        for i, link in enumerate(links):
            await enqueue(
                t.scope(rt),
                "test",
                dedupe_key=f"m{i}",
                at=at("2026-09-16"),
                payload={"title": f"消息{i}", "body": "正文", "link": link},
                recipient_id=recipient,
            )
    await run_deliver(rt, tenants=[t.id], now=at("2026-09-16", 10))


async def test_inbox_page_marks_read_when_opened_and_all_at_once(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    cid = (await register(client, t))["id"]
    clerk = t.users["clerk"]["id"]
    await deliver(rt, t, clerk, [f"/cases/{cid}", "/inbox", "https://evil.example/x"])
    await login(client, t, "clerk")
    badge = await client.get("/inbox/unread-badge", headers=HTML)
    assert badge.status_code == 200 and ">3<" in badge.text
    text = (await client.get("/inbox", headers=HTML)).text
    assert text.count('class="message unread"') == 3 and "全部标为已读" in text
    opens = re.findall(r'href="(/inbox/(\d+)/open)"', text)
    by_title = dict(zip(re.findall(r"<strong>(消息\d)</strong>", text), opens, strict=True))

    r = await client.get(by_title["消息0"][0])
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}"
    r = await client.get(by_title["消息2"][0])  # never to another origin
    assert r.status_code == 303 and r.headers["location"].startswith("/inbox")
    api = (await client.get("/api/v1/inbox/", headers=t.headers())).json()
    assert api["unread"] == 1
    assert ">1<" in (await client.get("/inbox/unread-badge", headers=HTML)).text

    text = (await client.get("/inbox", headers=HTML)).text
    r = await client.post("/inbox/read-all", data={"_csrf_token": csrf(text)}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/inbox?marked=1"
    text = (await client.get("/inbox?marked=1", headers=HTML)).text
    assert 'class="message unread"' not in text and "已将 1 条消息标为已读" in text
    assert "全部标为已读" not in text
    assert (await client.get("/api/v1/inbox/unread-count", headers=t.headers())).json() == {
        "unread": 0
    }
    # Someone else's message: 404, and it stays unread.
    handler_msgs = (await client.get("/api/v1/inbox/", headers=t.headers("handler"))).json()
    assert handler_msgs["items"] == []
    other = await make_tenant()
    await deliver(rt, other, other.users["clerk"]["id"], ["/inbox"])
    foreign = (await client.get("/api/v1/inbox/", headers=other.headers())).json()["items"][0]
    assert (await client.get(f"/inbox/{foreign['id']}/open")).status_code == 404
    assert (await client.get("/api/v1/inbox/unread-count", headers=other.headers())).json() == {
        "unread": 1
    }


# --- 「采用转来的联系方式」 only with a copy to adopt ----------------------------------------


async def test_case_page_offers_adopting_a_contact_only_when_a_copy_waits(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    assert "adopt_contact" not in case["allowed_actions"]
    await login(client, t, "clerk")
    text = await page(client, case["id"])
    assert "采用转来的联系方式" not in text and "/act/accept" in text


# --- the desk registers a 检举控告 with its accused ----------------------------------------


async def test_desk_registers_an_accusation_with_its_accused(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    from tests.integration.test_desk import desk, form

    t = await make_tenant()
    accused, as_accused = await staff(client, rt, t, "officer5", ["clerk"])
    token = await desk(client, t.slug)
    text = (await client.get("/cases/new", headers=HTML)).text
    # The inputs are named by the API's JSON paths and hidden until it is a 检举控告.
    assert re.search(r'<div id="desk-accused"[^>]*hidden', text)
    for name in ("accused.user_ids", "accused.department_ids", "accused.description"):
        assert f'name="{name}"' in text, name

    # An unknown person: the message stands at the select, nothing is saved.
    data = {
        **form(purpose="accusation", legal_category="accusation", cause="民警办案时索要财物"),
        "accused.user_ids": "999999",
        "_csrf_token": token,
    }
    r = await client.post("/cases/new", data=data, headers=HTML)
    assert r.status_code == 422
    assert "被检举控告的人员不存在" in r.text
    assert re.search(r'id="f-accused-user_ids"[^>]*aria-invalid="true"', r.text)
    assert not re.search(r'<div id="desk-accused"[^>]*hidden', r.text)

    data = {
        **data,
        "accused.user_ids": str(accused["id"]),
        "accused.department_ids": [str(t.departments["handling"])],
        "accused.description": "派出所民警",
    }
    r = await client.post("/cases/new", data=data, headers=HTML)
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    case = (await client.get(f"/api/v1/cases/{cid}", headers=t.headers())).json()
    assert case["legal_category"] == "accusation"
    # Neither the accused officer nor the accused department's handler sees it.
    assert (await client.get(f"/api/v1/cases/{cid}", headers=as_accused)).status_code == 404
    r = await client.get(f"/api/v1/cases/{cid}", headers=t.headers("handler"))
    assert r.status_code == 404

    # Accused fields left filled in but the matter is not a 检举控告: not registered as one.
    data = {**data, "purpose": "personal", "legal_category": "claim", "cause": "路灯不亮"}
    r = await client.post("/cases/new", data=data, headers=HTML)
    assert r.status_code == 303
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    assert (await client.get(f"/api/v1/cases/{cid}", headers=as_accused)).status_code == 200


async def test_an_upload_beyond_what_any_tenant_allows_is_a_clean_413(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    """The multipart body is bounded before it is parsed: beyond the routes' limit the
    answer is 413 ``body_too_large`` (API and page), never a 500, and nothing is stored;
    a form post elsewhere keeps the app's 2 MB limit."""
    from core.web.casework import UPLOAD_BODY_LIMIT

    t = await make_tenant()
    cid = (await register(client, t))["id"]
    huge = png(UPLOAD_BODY_LIMIT)
    r = await upload(client, t, cid, huge, "huge.png", "image/png")
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert blobs(rt, t) == []
    await login(client, t, "clerk")
    token = csrf(await page(client, cid))
    r = await client.post(
        f"/cases/{cid}/attachments",
        data={"_csrf_token": token},
        files={"file": ("huge.png", huge, "image/png")},
        headers=HTML,
    )
    assert r.status_code == 413 and blobs(rt, t) == []
    r = await client.post(
        f"/cases/{cid}/reveal",
        data={"_csrf_token": token, "reason": REASON},
        files={"file": ("big.png", png(3 * 1024 * 1024), "image/png")},
        headers=HTML,
    )
    assert r.status_code == 413
    assert await audit_rows(t, "reveal") == []


async def test_an_archived_case_takes_no_more_attachments(client: Any, make_tenant: Any) -> None:
    """立卷归档 closes the volume: an upload afterwards is refused and nothing is stored."""
    t = await make_tenant()
    case = await register(client, t, cause="咨询缴费时间", answered_on_spot="已告知每月5日前缴费")
    cid = case["id"]
    assert (await upload(client, t, cid, png(), "before.png")).status_code == 201
    r = await client.post(
        f"/api/v1/cases/{cid}/actions/archive", json={}, headers=t.headers("clerk")
    )
    assert r.status_code == 200 and r.json()["status"] == "archived", r.text
    r = await upload(client, t, cid, png(16), "after.png")
    assert r.status_code == 409 and r.json()["error"]["code"] == "case_archived", r.text
    listed = (await client.get(f"/api/v1/cases/{cid}/attachments", headers=t.headers())).json()
    assert [a["filename"] for a in listed] == ["before.png"]
    await login(client, t, "clerk")
    shown = await page(client, cid)
    assert "已立卷归档，不再添加附件" in shown and 'action="/cases/{cid}/attachments"' not in shown
