"""Reports and exports through the API on both engines: the archive volume of a
petitioner's year as PDF (index, each matter's documents and events in order, hidden
matters left out, the export in the audit log)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tempfile
from datetime import timedelta
from typing import Any

import pytest

from core.services import audit_log, users
from core.settings import TIMEZONE
from tests.conftest import valid_id_number
from tests.integration.test_documents import _keep, text_of
from tests.integration.test_lifecycle import START, act, clock, register  # noqa: F401

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("clock")]  # time is START


def index_lines(pdf: bytes) -> list[str]:
    """The first page's lines as laid out (pdftotext -layout): one table row a line."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(
            ["pdftotext", "-layout", "-f", "1", "-l", "1", f.name, "-"],
            check=True,
            capture_output=True,
            text=True,
        )
    return out.stdout.splitlines()


async def _archived(client: Any, t: Any, rt: Any, **over: Any) -> dict[str, Any]:
    """A matter registered now, not accepted (told the proper channel), archived."""
    case = await register(client, t, **over)
    cid = case["id"]
    await act(client, t, cid, "not_accept", "clerk", channel="arbitration", reason="劳动争议")
    today = rt.clock.now().astimezone(TIMEZONE).date().isoformat()
    await act(client, t, cid, "notify", "clerk", channel="in_person", given_on=today)
    return await act(client, t, cid, "archive", "clerk")


async def test_archive_volume_pdf(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    first = await _archived(client, t, rt, cause="第一件：工资拖欠三个月")
    vid = first["visitor_id"]
    rt.clock.set(START + timedelta(days=3))
    second = await _archived(client, t, rt, visitor_id=vid, visitor=None, cause="第二件：路灯不亮")
    rt.clock.set(START + timedelta(days=5))
    # A 检举控告 naming the handler: the handler never sees it, in the volume either.
    accusation = await _archived(
        client,
        t,
        rt,
        visitor_id=vid,
        visitor=None,
        cause="第三件：检举某工作人员",
        legal_category="accusation",
        accused={"user_ids": [t.users["handler"]["id"]]},
    )
    assert second["visitor_id"] == vid == accusation["visitor_id"]
    url = f"/api/v1/visitors/{vid}/archive/2026.pdf"

    r = await client.get(url, headers=t.headers("clerk"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    _keep("archive-volume", r.content)
    text = text_of(r.content)
    assert "卷内目录" in text and f"{t.slug}-2026-{vid:06d}" in text and "李四" in text
    codes = [first["receipt_code"], second["receipt_code"], accusation["receipt_code"]]
    # The index (page 1, read line by line) lists them in the order received, each with
    # its date and the pages it takes.
    first_page = index_lines(r.content)
    rows = [next(i for i, line in enumerate(first_page) if c in line) for c in codes]
    assert rows == sorted(rows), first_page
    assert "2026年9月16日" in first_page[rows[0]] and re.search(
        r"\b2[–-]\d+\s*$", first_page[rows[0]]
    )
    # Each matter's documents and events follow, in order: the receipt, the 不予受理告知书,
    # the events table (登记 … 立卷归档).
    body = text[text.index("办理过程") :]
    assert "2026年9月16日" in text and "2026年9月19日" in text
    starts = [text.index(f"登记编号：{c}") for c in codes]
    assert starts == sorted(starts)
    for c in codes:
        assert f"办理过程（{c}）" in text
    assert "不予受理告知书" in text and "劳动争议" in text and "立卷归档" in body
    assert valid_id_number(seq=321) not in text and "13900001111" not in text

    seen_by_handler = text_of((await client.get(url, headers=t.headers("handler"))).content)
    assert first["receipt_code"] in seen_by_handler and second["receipt_code"] in seen_by_handler
    assert accusation["receipt_code"] not in seen_by_handler
    assert "第三件" not in seen_by_handler

    # Another organization: the person does not exist. No volume that year: 404 at year.
    r = await client.get(url, headers=other.headers("clerk"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "visitor_not_found"
    r = await client.get(f"/api/v1/visitors/{vid}/archive/2025.pdf", headers=t.headers())
    assert r.status_code == 404 and r.json()["error"]["field"] == "year"
    r = await client.get(f"/api/v1/visitors/{vid}/archive/2026.txt", headers=t.headers())
    assert r.status_code == 404 and r.json()["error"]["code"] == "volume_not_found"

    # A person whose only matter accuses the handler does not exist for the handler.
    lone = await _archived(
        client,
        t,
        rt,
        visitor={"name": "赵六", "id_number": valid_id_number(seq=654)},
        legal_category="accusation",
        accused={"user_ids": [t.users["handler"]["id"]]},
    )
    lone_url = f"/api/v1/visitors/{lone['visitor_id']}/archive/2026.pdf"
    r = await client.get(lone_url, headers=t.headers("handler"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "visitor_not_found"
    assert (await client.get(lone_url, headers=t.headers("clerk"))).status_code == 200

    # Every volume printed is an export in the audit log: who, whose, how many matters.
    admin = await users.principal_for(t.scope(rt), t.users["admin"]["id"])
    page = await audit_log.list_entries(t.acting(rt, admin), action="export.clear", limit=50)
    rows = [e for e in page.items if e.target == f"visitor:{vid}"]
    assert sorted((e.actor, e.detail["rows"]) for e in rows) == [("clerk", 3), ("handler", 2)]
    assert {"archive.volume", "visitor.name", "document.receipt"} <= set(rows[0].detail["fields"])


def workbook_of(content: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


def every_value(wb: Any) -> str:
    return "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )


async def test_screening_sheet_of_a_month(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    petition = t.departments["petition"]
    plain = await register(client, t, department_id=petition, cause="邻里宅基地纠纷")
    reps = [
        {"name": "王五", "id_number": valid_id_number(seq=505), "phone": "13800005555"},
        {"name": "赵六", "phone": "13800006666"},
    ]
    group = await register(
        client,
        t,
        department_id=petition,
        headcount=8,
        representatives=reps,
        visitor={"name": "钱七八", "id_number": valid_id_number(seq=778)},
        cause="八人集体反映拆迁补偿",
    )
    handled = await register(client, t, visitor={"name": "孙九"}, cause="路灯不亮")
    await act(client, t, handled["id"], "accept", "clerk")
    await act(
        client, t, handled["id"], "start_handling", "clerk", handler_id=t.users["handler"]["id"]
    )
    await register(client, other, cause="别的机构的事项")
    rt.clock.set(START + timedelta(days=20))  # October: not in September's sheet
    october = await register(client, t, department_id=petition, cause="十月的事项")

    url = "/api/v1/reports/screening.xlsx"
    r = await client.get(url, params={"month": "2026-09"}, headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in r.headers["content-disposition"]
    wb = workbook_of(r.content)
    rows: dict[str, dict[str, Any]] = {}
    for ws in wb.worksheets:
        title = ws.cell(row=1, column=1).value
        assert f"测试机构 {t.slug}" in title and "2026年9月矛盾纠纷排查表" in title
        assert ws.freeze_panes == "A3"
        headers = [c.value for c in ws[2]]
        assert headers[:4] == ["序号", "登记编号", "登记日期", "当事人"]
        assert ws.column_dimensions["F"].width == 40
        for values in ws.iter_rows(min_row=3, values_only=True):
            if values[1]:
                rows[values[1]] = {"sheet": ws.title, **dict(zip(headers, values, strict=True))}
    assert set(rows) == {plain["receipt_code"], group["receipt_code"], handled["receipt_code"]}
    assert october["receipt_code"] not in rows
    p, g, h = (
        rows[plain["receipt_code"]],
        rows[group["receipt_code"]],
        rows[handled["receipt_code"]],
    )
    assert p["sheet"] == g["sheet"] == "petition" and h["sheet"] != "petition"
    assert p["当事人"] == "李*" and p["风险等级"] == "低" and p["状态"] == "已登记"
    assert p["登记日期"] == "2026年9月16日" and p["主要事由"] == "邻里宅基地纠纷"
    assert g["当事人"] == "钱**、王*、赵*等8人" and g["风险等级"] == "高"
    assert h["当事人"] == "孙*" and h["责任人"] == "handler-user"
    assert "受理" in h["已采取措施"] and h["办理期限"] == "2026年11月16日"
    # Names masked, never an ID number or a phone.
    text = every_value(wb)
    for secret in ("李四", "钱七八", "王五", "赵六", valid_id_number(seq=321), "13900001111",
                   valid_id_number(seq=505), "13800005555"):  # fmt: skip
        assert secret not in text
    assert "别的机构的事项" not in text and "风险等级：集体访" in text

    # Another month has only its own; a month without matters is an empty sheet.
    r = await client.get(url, params={"month": "2026-10"}, headers=t.headers("admin"))
    assert october["receipt_code"] in every_value(workbook_of(r.content))
    assert plain["receipt_code"] not in every_value(workbook_of(r.content))
    r = await client.get(url, params={"month": "2026-08"}, headers=t.headers("admin"))
    assert workbook_of(r.content).sheetnames == ["本月无事项"]

    for bad in ("2026-13", "2026-9", "九月", "2026-09-01", ""):
        r = await client.get(url, params={"month": bad}, headers=t.headers("supervisor"))
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["field"] == "month", r.text
    for role in ("clerk", "handler", "leader"):
        r = await client.get(url, params={"month": "2026-09"}, headers=t.headers(role))
        assert r.status_code == 403


def sheet_rows(content: bytes) -> dict[str, dict[str, Any]]:
    ws = workbook_of(content).worksheets[0]
    headers = [c.value for c in ws[2]]
    return {
        values[0]: dict(zip(headers, values, strict=True))
        for values in ws.iter_rows(min_row=3, values_only=True)
        if values[0] and str(values[0])[:2].isdigit()
    }


async def test_case_list_as_excel(client: Any, make_tenant: Any, rt: Any, monkeypatch: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    kept = await register(client, t)
    accepted = await register(client, t, visitor={"name": "周十", "phone": "13700007777"})
    await act(client, t, accepted["id"], "accept", "clerk")
    hidden = await register(
        client,
        t,
        cause="检举某工作人员",
        legal_category="accusation",
        accused={"user_ids": [t.users["handler"]["id"]]},
    )
    await register(client, other)

    r = await client.get("/api/v1/cases.xlsx", headers=t.headers("clerk"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(r.content)
    assert set(rows) == {kept["receipt_code"], accepted["receipt_code"], hidden["receipt_code"]}
    row = rows[kept["receipt_code"]]
    assert (
        row["信访人"] == "李*"
        and row["身份证号码"]
        and row["身份证号码"] != valid_id_number(seq=321)
    )
    assert "*" in row["身份证号码"] and "*" in row["联系电话"]
    assert "13900001111" not in every_value(workbook_of(r.content))

    # The list's filters, checked as the list checks them.
    r = await client.get("/api/v1/cases.xlsx?status=accepted", headers=t.headers("clerk"))
    assert set(sheet_rows(r.content)) == {accepted["receipt_code"]}
    listed = await client.get("/api/v1/cases?status=accepted", headers=t.headers("clerk"))
    assert [c["receipt_code"] for c in listed.json()["items"]] == [accepted["receipt_code"]]
    r = await client.get("/api/v1/cases.xlsx?status=nonsense", headers=t.headers("clerk"))
    assert r.status_code == 400 and r.json()["error"]["field"] == "status"
    # The accused never sees the complaint, in an export either.
    r = await client.get("/api/v1/cases.xlsx", headers=t.headers("handler"))
    assert hidden["receipt_code"] not in sheet_rows(r.content)
    assert "检举某工作人员" not in every_value(workbook_of(r.content))

    # In clear: only 督查督办 / admin, and the export is in the audit log.
    r = await client.get("/api/v1/cases.xlsx?clear=1", headers=t.headers("clerk"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "clear_not_allowed"
    r = await client.get("/api/v1/cases.xlsx?clear=1", headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    rows = sheet_rows(r.content)
    assert rows[kept["receipt_code"]]["信访人"] == "李四"
    assert rows[kept["receipt_code"]]["身份证号码"] == valid_id_number(seq=321)
    assert rows[accepted["receipt_code"]]["联系电话"] == "13700007777"
    admin = await users.principal_for(t.scope(rt), t.users["admin"]["id"])
    page = await audit_log.list_entries(t.acting(rt, admin), action="export.clear", limit=50)
    audited = [e for e in page.items if e.target == "export:cases.xlsx"]
    assert [(e.actor, e.detail["rows"]) for e in audited] == [("supervisor", 3)]
    assert "visitor.id_number" in audited[0].detail["fields"]

    # Past the cap: refused, nothing half-written.
    from core.services.reports import export

    monkeypatch.setattr(export, "MAX_ROWS", 2)
    r = await client.get("/api/v1/cases.xlsx?clear=1", headers=t.headers("supervisor"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_rows"
    page = await audit_log.list_entries(t.acting(rt, admin), action="export.clear", limit=50)
    assert len([e for e in page.items if e.target == "export:cases.xlsx"]) == 1


async def test_annual_report(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    other = await make_tenant()
    await register(client, t, visitor={"name": "甲某"}, cause="年度一")
    group = [{"name": "王五"}, {"name": "赵六"}]
    await register(
        client, t, headcount=8, representatives=group, visitor={"name": "乙某"}, cause="年度二"
    )
    await register(client, other, cause="别的机构")

    url = "/api/v1/reports/annual.xlsx"
    r = await client.get(url, params={"year": 2026}, headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    wb = workbook_of(r.content)
    assert wb.sheetnames == ["信访总量", "按月", "主要问题", "办理情况", "专项统计", "意见建议"]
    volume = {row[0]: row[1] for row in wb["信访总量"].iter_rows(min_row=3, values_only=True)}
    assert volume["登记批次（件）"] == 2 and volume["人次"] == 9 and volume["集体访（批）"] == 1
    assert f"测试机构 {t.slug} 2026年度信访工作报告" in wb["信访总量"]["A1"].value
    months = {row[0]: row[1] for row in wb["按月"].iter_rows(min_row=3, values_only=True)}
    assert months.get("2026-09") == 2 or 2 in months.values()
    sections = [
        row[0]
        for row in wb["专项统计"].iter_rows(min_row=3, values_only=True)
        if row[1] is not None
    ]
    assert "室温不达标投诉" in sections
    text = every_value(wb)
    for name in ("甲某", "乙某", "王五", "别的机构"):
        assert name not in text
    assert "意见建议" in text

    # The same report as PDF: each section numbered, its figures, nobody named.
    r = await client.get(
        "/api/v1/reports/annual.pdf", params={"year": 2026}, headers=t.headers("supervisor")
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    _keep("annual-report", r.content)
    pdf_text = text_of(r.content)
    assert f"测试机构{t.slug}2026年度信访工作报告" in pdf_text
    for heading in ("一、信访总量", "三、主要问题", "四、办理情况", "五、专项统计", "六、意见建议"):
        assert heading in pdf_text
    assert "登记批次（件）2" in pdf_text and "室温不达标投诉" in pdf_text
    for name in ("甲某", "乙某", "王五", "别的机构"):
        assert name not in pdf_text
    r = await client.get(
        "/api/v1/reports/annual.pdf", params={"year": 2026}, headers=t.headers("handler")
    )
    assert r.status_code == 403

    r = await client.get(url, params={"year": 2025}, headers=t.headers("admin"))
    volume = {
        row[0]: row[1]
        for row in workbook_of(r.content)["信访总量"].iter_rows(min_row=3, values_only=True)
    }
    assert volume["登记批次（件）"] == 0
    assert (
        await client.get(url, params={"year": 2026}, headers=t.headers("clerk"))
    ).status_code == 403
    r = await client.get(url, params={"year": "二〇二六"}, headers=t.headers("admin"))
    assert r.status_code in (400, 422) and r.json()["error"]["field"] == "year"


async def test_the_files_are_documented_as_files(client: Any) -> None:
    """Each report operation says in the schema what it sends: a binary file of its media
    type, and the error body for its refusals."""
    schema = (await client.get("/schema/openapi.json")).json()
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for path, media in (
        ("/api/v1/visitors/{visitor_id}/archive/{volume}", "application/pdf"),
        ("/api/v1/reports/screening.xlsx", xlsx),
        ("/api/v1/reports/annual.xlsx", xlsx),
        ("/api/v1/reports/annual.pdf", "application/pdf"),
        ("/api/v1/cases.xlsx", xlsx),
        ("/api/v1/cases/{case_id}/documents/{document}", "application/pdf"),
        ("/api/v1/cases/{case_id}/attachments/{attachment_id}", "application/octet-stream"),
    ):
        op = schema["paths"][path]["get"]
        ok = op["responses"]["200"]["content"]
        assert list(ok) == [media], (path, ok)
        file = ok[media]["schema"]  # a file: binary, or (a File response) its media type
        assert file["type"] == "string", (path, ok)
        assert file.get("format") == "binary" or "contentMediaType" in file, (path, ok)
        assert "ErrorBody" in json.dumps(op["responses"]["400"]), path
        assert "ErrorBody" in json.dumps(op["responses"]["403"]), path
