"""Documents (文书) as PDF through the API on both engines: every kind for one case
walked through its lifecycle, the facts and computed dates read back from the PDF
(pdftotext), the Noto CJK fonts embedded as subsets (pdffonts), the refusals (hidden
case, unknown kind, a step not reached), issuing a notice meets the 15-day clock, a
tenant's own wording, and the sandbox refusing a template that reaches for internals."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.services import audit_log, users
from tests.conftest import valid_id_number
from tests.integration.test_lifecycle import START, act, body, clock, open_clock, register  # noqa: F401
from tests.integration.test_plugin_platform import case_body

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("clock")]  # time is START

OUT = os.environ.get("XINFANG_DOCUMENT_SAMPLES")
"""Set to a directory to keep each PDF rendered here (to look at them)."""


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(
            [tool, *args, f.name, "-"] if tool == "pdftotext" else [tool, f.name],
            check=True,
            capture_output=True,
            text=True,
        )
    return out.stdout


def text_of(pdf: bytes) -> str:
    """The PDF's words with every space and line break removed (pdftotext spaces out
    justified CJK lines and breaks them where the page does)."""
    return re.sub(r"\s+", "", _poppler("pdftotext", pdf))


def fonts_of(pdf: bytes) -> list[tuple[str, bool, bool]]:
    """(name, embedded, subset) of each font, from pdffonts."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    out = []
    for line in lines:
        cols = line.split()
        # name type… encoding emb sub uni object ID: emb/sub are the 5th/4th from the end.
        out.append((cols[0], cols[-5] == "yes", cols[-4] == "yes"))
    return out


async def pdf(
    client: Any, t: Any, cid: int, kind: str, status: int = 200, role: str = "clerk"
) -> Any:
    r = await client.get(f"/api/v1/cases/{cid}/documents/{kind}.pdf", headers=t.headers(role))
    assert r.status_code == status, r.text
    if status != 200:
        return r.json()
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    _keep(kind, r.content)
    return r.content


def _keep(kind: str, content: bytes) -> None:
    if OUT:
        Path(OUT).mkdir(parents=True, exist_ok=True)
        Path(OUT, f"{kind}.pdf").write_bytes(content)


async def listing(client: Any, t: Any, cid: int) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/api/v1/cases/{cid}/documents", headers=t.headers())
    assert r.status_code == 200, r.text
    return {d["kind"]: d for d in r.json()}


def available(docs: dict[str, dict[str, Any]]) -> set[str]:
    return {k for k, d in docs.items() if d["available"]}


async def test_every_document_of_a_case_through_its_lifecycle(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    cid, code = case["id"], case["receipt_code"]
    docs = await listing(client, t, cid)
    assert available(docs) == {"receipt"}
    assert docs["receipt"]["url"] == f"/api/v1/cases/{cid}/documents/receipt.pdf"
    assert docs["acceptance_notice"]["notice"] is True

    receipt = await pdf(client, t, cid, "receipt")
    text = text_of(receipt)
    assert "信访事项登记回执" in text and code in text and "李四" in text
    assert "2026年9月16日" in text  # received
    assert f"/t/{t.slug}/lookup" in text
    assert f"测试机构{t.slug}" in text and "（盖章）" in text
    # Never the ID number on paper (the receipt goes to the petitioner).
    id_number = body()["visitor"]["id_number"]
    assert id_number not in text and "身份证" not in text
    fonts = fonts_of(receipt)
    assert fonts and all(emb and sub for _, emb, sub in fonts), fonts
    assert any(re.fullmatch(r"[A-Z]{6}\+NotoSerifCJK\S*", n) for n, _, _ in fonts), fonts

    err = await pdf(client, t, cid, "acceptance_notice", 409)
    assert err["error"]["code"] == "document_not_available"

    case = await act(client, t, cid, "accept", "clerk")
    notify = open_clock(case, "notify")
    # 15 days from 2026-09-16 would be 10-01, National Day: the next working day is 10-08.
    assert notify["due"] == "2026-10-08"
    text = text_of(await pdf(client, t, cid, "acceptance_notice"))
    assert "信访事项受理告知书" in text and code in text and "李四：" in text
    assert "2026年11月16日前" in text  # the 60-day handling clock
    # The receipt promises the notice by the notice clock's due day.
    assert "2026年10月8日前书面告知" in text_of(await pdf(client, t, cid, "receipt"))

    # Issuing the notice records it as given and meets the 15-day clock.
    err = await client.post(
        f"/api/v1/cases/{cid}/documents/receipt/issue",
        json={"channel": "post"},
        headers=t.headers(),
    )
    assert err.status_code == 409 and err.json()["error"]["code"] == "document_not_a_notice"
    rt.clock.set(START + timedelta(days=2))
    r = await client.post(
        f"/api/v1/cases/{cid}/documents/acceptance_notice/issue",
        json={"channel": "post"},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert "notify" not in {d["clock"] for d in case["deadlines"]}
    given = case["events"][-1]
    assert given["kind"] == "notify" and given["data"]["channel"] == "post"
    assert given["data"]["given_on"] == "2026-09-18"
    assert given["data"]["document"]["kind"] == "acceptance_notice"
    text = text_of(await pdf(client, t, cid, "acceptance_notice"))
    assert text.endswith("2026年9月18日（盖章）—1—") or "2026年9月18日（盖章）" in text
    again = await client.post(
        f"/api/v1/cases/{cid}/documents/acceptance_notice/issue",
        json={"channel": "post"},
        headers=t.headers(),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "notice_already_given"

    await act(
        client, t, cid, "assign", "clerk", handler_id=t.users["handler"]["id"], plan="实地测温"
    )
    assert "assignment" not in available(await listing(client, t, cid))  # not yet approved
    await act(client, t, cid, "approve_assignment", "leader")
    text = text_of(await pdf(client, t, cid, "assignment"))
    assert "信访事项交办单" in text and "实地测温" in text and "2026年11月16日前办结" in text
    assert "handling：" in text  # addressed to the handling department

    await act(client, t, cid, "request_extension", "handler", days=20, reason="需第三方检测")
    await act(client, t, cid, "approve_extension", "leader")
    text = text_of(await pdf(client, t, cid, "extension_notice"))
    # 2026-11-16 + 20 days = 12-06, a Sunday: the new date is Monday 12-07.
    assert "需第三方检测" in text and "由2026年11月16日延长至2026年12月7日" in text

    await act(client, t, cid, "report", "handler", note="附测温记录")
    await act(
        client, t, cid, "approve_report", "supervisor", opinion="support", opinion_text="已更换管道"
    )
    text = text_of(await pdf(client, t, cid, "opinion"))
    assert "信访事项处理意见书" in text and "处理意见：支持。" in text and "已更换管道" in text
    # Opinion on 2026-09-18: 30 days → 10-18, a Sunday → 10-19 (Monday).
    assert "30日内（即2026年10月19日前）" in text and "请求复查" in text

    rt.clock.set(START + timedelta(days=10))
    await act(client, t, cid, "request_review", "clerk", reason="不服处理意见")
    await act(
        client, t, cid, "decide_review", "leader", opinion="explain", opinion_text="维持原意见"
    )
    text = text_of(await pdf(client, t, cid, "review_opinion"))
    # Decided 2026-09-26: 30 days → 10-26 (Monday).
    assert "复查意见：解释说明。" in text and "维持原意见" in text
    assert (
        "2026年9月26日请求复查" in text and "（即2026年10月26日前）" in text and "请求复核" in text
    )
    await act(client, t, cid, "request_rereview", "clerk", reason="仍不服")
    await act(
        client, t, cid, "decide_rereview", "leader", opinion="not_support", opinion_text="终结"
    )
    text = text_of(await pdf(client, t, cid, "rereview_opinion"))
    assert "复核意见：不支持。" in text and "最终意见" in text and code in text

    assert available(await listing(client, t, cid)) == {
        "receipt",
        "acceptance_notice",
        "assignment",
        "extension_notice",
        "opinion",
        "review_opinion",
        "rereview_opinion",
    }
    # Every download is in the audit log: by whom, which document of which case.
    admin = await users.principal_for(t.scope(rt), t.users["admin"]["id"])
    page = await audit_log.list_entries(t.acting(rt, admin), action="export.clear", limit=50)
    printed = [e for e in page.items if e.target == f"case:{cid}"]
    assert len(printed) == 9 and {e.actor for e in printed} == {"clerk"}
    assert {"document.rereview_opinion", "visitor.name"} <= set(printed[0].detail["fields"])
    assert any("document.rereview_opinion" in str(e.detail) for e in printed)


async def test_refusal_transfer_and_other_tenants(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    refused = await register(client, t)
    after = await act(
        client,
        t,
        refused["id"],
        "not_accept",
        "clerk",
        channel="arbitration",
        reason="属于劳动争议",
    )
    text = text_of(await pdf(client, t, refused["id"], "non_acceptance_notice"))
    assert "信访事项不予受理告知书" in text and "仲裁" in text and "属于劳动争议" in text
    assert "依照《信访工作条例》的规定，本机关不予受理" in text
    # The refusal is a written notice too: issuing it meets the notice clock.
    assert open_clock(after, "notify")["state"] == "open"
    r = await client.post(
        f"/api/v1/cases/{refused['id']}/documents/non_acceptance_notice/issue",
        json={"channel": "in_person", "given_on": "2026-09-16"},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"][-1]["data"]["document"]["kind"] == "non_acceptance_notice"
    assert not [d for d in r.json()["deadlines"] if d["clock"] == "notify"]

    id_number = valid_id_number(seq=555)
    moved = await register(client, t, visitor={"name": "王五", "id_number": id_number})
    await act(
        client,
        t,
        moved["id"],
        "transfer",
        "clerk",
        to_department_id=t.departments["handling"],
        note="请核实",
    )
    text = text_of(await pdf(client, t, moved["id"], "transfer_slip"))
    assert "信访事项转送单" in text and "王五" in text and "请核实" in text
    assert "小区供暖温度长期不达标" in text and "5个工作日内" in text
    assert "110105198001011234" not in text and "1234" not in text.replace(
        moved["receipt_code"], ""
    )

    # Another tenant's case: not found, whatever is asked.
    cid = refused["id"]
    for url in (f"/api/v1/cases/{cid}/documents", f"/api/v1/cases/{cid}/documents/receipt.pdf"):
        r = await client.get(url, headers=other.headers())
        assert r.status_code == 404 and r.json()["error"]["code"] == "case_not_found", url
    r = await client.post(
        f"/api/v1/cases/{cid}/documents/non_acceptance_notice/issue",
        json={"channel": "post"},
        headers=other.headers(),
    )
    assert r.status_code == 404
    # Unknown kinds and names.
    for name in ("nothing.pdf", "receipt", "receipt.txt"):
        r = await client.get(f"/api/v1/cases/{cid}/documents/{name}", headers=t.headers())
        assert r.status_code == 404, name
        assert r.json()["error"]["code"] == "document_not_found"


async def test_tenant_wording_and_the_sandbox(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    case = await register(client, t)
    url = "/api/v1/tenant/document-templates"
    r = await client.get(url, headers=t.headers("admin"))
    assert r.status_code == 200
    receipt = next(d for d in r.json() if d["kind"] == "receipt")
    assert receipt["template"] is None and "{{ receipt_code }}" in receipt["default"]

    own = "{{ visitor_name }}：\n\n本所已收到您的来信，编号{{ receipt_code }}，{{ received_date }}登记。\n\n北区服务站"
    r = await client.put(f"{url}/receipt", json={"template": own}, headers=t.headers("admin"))
    assert r.status_code == 200, r.text and r.json()["template"] == own
    text = text_of(await pdf(client, t, case["id"], "receipt"))
    assert f"本所已收到您的来信，编号{case['receipt_code']}，2026年9月16日登记。" in text
    assert "北区服务站" in text and "请妥善保管本回执" not in text
    # Only this tenant's wording changed.
    theirs = await register(client, other)
    assert "请妥善保管本回执" in text_of(await pdf(client, other, theirs["id"], "receipt"))

    for bad, code in (
        ("{{ ''.__class__.__mro__ }}", "template_unsafe"),
        ("{{ receipt_code.__class__.__mro__[1].__subclasses__() }}", "template_unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "template_unsafe"),
        ("{% for x in %}", "template_syntax"),
        ("{{ id_number }}", "template_variable"),
    ):
        r = await client.put(f"{url}/receipt", json={"template": bad}, headers=t.headers("admin"))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == "template", bad
    r = await client.put(f"{url}/receipt", json={"template": "x"}, headers=t.headers("clerk"))
    assert r.status_code == 403
    r = await client.put(f"{url}/nothing", json={"template": "x"}, headers=t.headers("admin"))
    assert r.status_code == 404
    # The refused ones saved nothing; null goes back to the default.
    assert "北区服务站" in text_of(await pdf(client, t, case["id"], "receipt"))
    r = await client.put(f"{url}/receipt", json={"template": None}, headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["template"] is None
    assert "请妥善保管本回执" in text_of(await pdf(client, t, case["id"], "receipt"))


async def test_plugin_document_the_courts_litigation_notice(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("court",))
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "appeal", {"case_number": "(2024)京0105民初5号", "seeks": "change_judgment"}
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    docs = await listing(client, t, case["id"])
    assert (
        docs["litigation_redirect_notice"]["available"]
        and docs["litigation_redirect_notice"]["plugin"] == "court"
    )
    assert docs["non_acceptance_notice"]["available"]
    text = text_of(await pdf(client, t, case["id"], "litigation_redirect_notice"))
    assert "诉访分离告知书" in text and case["receipt_code"] in text
    assert "依法应通过上诉程序解决" in text and "上诉状" in text
    text = text_of(await pdf(client, t, case["id"], "non_acceptance_notice"))
    assert "上诉" in text and "上诉状" in text
    # A court case accepted normally has no redirect: the notice is not available.
    r = await client.post(
        "/api/v1/cases",
        json=case_body("conduct", {}, cause="法官态度恶劣"),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    docs = await listing(client, t, r.json()["id"])
    assert not docs["litigation_redirect_notice"]["available"]


async def test_missing_fonts_are_named(
    client: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    monkeypatch.setenv("XINFANG_CJK_FONT_DIR", str(tmp_path))
    err = await pdf(client, t, case["id"], "receipt", 503)
    assert err["error"]["code"] == "fonts_missing"
    assert "fonts-noto-cjk" in err["error"]["message"] and str(tmp_path) in err["error"]["message"]
