"""Reports and exports through the API on both engines: the archive volume of a
petitioner's year as PDF (index, each matter's documents and events in order, hidden
matters left out, the export in the audit log)."""

from __future__ import annotations

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
