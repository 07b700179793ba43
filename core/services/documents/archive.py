"""档案卷 as PDF: one petitioner's volume of one year (``lifecycle.archive_of``) set in
type — the 卷内目录 (number, date, receipt code, title, pages) on the first page, then
each matter in the order received: its documents as they print now (``pages_of``) and
its events in order.

Only what the reader may see: a petitioner none of whose matters the reader may see
does not exist for them (404, like 查看完整信息), and a matter hidden from them (they are
its accused) is not in the volume. Each volume printed is an export in the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core.domain.lifecycle import event_zh, status_zh
from core.errors import NotFound
from core.schemas import LEGAL_CATEGORY_ZH
from core.services import audit, cases, lifecycle, sector
from core.services.cases import CaseDetail, CaseEventOut
from core.services.documents import RenderedDocument, pages_of
from core.services.documents.typeset import VOLUME, render_layout
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import matters_of
from core.settings import TIMEZONE
from core.timefmt import zh_date, zh_datetime

TITLE_CHARS = 40
"""A matter's title in the index: its kind and the start of its cause."""
NOTE_FIELDS = ("reason", "note", "plan", "minutes", "opinion_text", "answer", "notice")
"""Event details printed in the volume's 说明 column, in this order."""


def _event_row(e: CaseEventOut) -> dict[str, str]:
    notes = [str(e.data[k]) for k in NOTE_FIELDS if isinstance(e.data.get(k), str | int)]
    moved = e.to_status and e.to_status != e.from_status
    return {
        "at": zh_datetime(e.at),
        "what": event_zh(e.kind),
        "status": status_zh(e.to_status) if moved else "",
        "note": "；".join(n for n in notes if n),
    }


def _title(case: CaseDetail, category_zh: dict[str, str]) -> str:
    cause = " ".join(case.cause.split())
    if len(cause) > TITLE_CHARS:
        cause = cause[:TITLE_CHARS] + "……"
    kind = LEGAL_CATEGORY_ZH.get(case.legal_category, "")
    category = category_zh.get(case.category, case.category)
    return f"{kind}（{category}）：{cause}" if kind else f"{category}：{cause}"


async def render_volume(scope: Scope, visitor_id: int, year: int) -> RenderedDocument:
    """The PDF of the petitioner's volume of ``year``: 404 ``visitor_not_found`` for a
    person the reader may not see, ``volume_not_found`` (field ``year``) when nothing
    of that year is archived for them (or nothing the reader may see)."""
    async with scope.tx(write=False):
        if not await matters_of(scope, visitor_id, limit=1):
            raise NotFound("visitor_not_found", "信访人不存在。")
    volume = next(
        (v for v in await lifecycle.archive_of(scope, visitor_id) if v.year == year), None
    )
    if volume is None:
        raise NotFound("volume_not_found", f"该信访人没有 {year} 年的档案卷。", field="year")
    tenant = await get_tenant(scope)
    category_zh = {c.code: c.title_zh for c in await sector.categories(scope, tenant)}
    matters: list[dict[str, Any]] = []
    kinds: set[str] = set()
    name = ""
    for no, item in enumerate(volume.matters, 1):
        case = await cases.get_case(scope, item.id)
        name = name or (case.visitor.name if case.visitor else "")
        pages = await pages_of(scope, case, tenant)
        kinds.update(kind for kind, _ in pages)
        matters.append(
            {
                "no": no,
                "date": zh_date(case.received_at),
                "code": case.receipt_code,
                "title": _title(case, category_zh),
                "documents": [asdict(page) for _, page in pages],
                "events_title": f"办理过程（{case.receipt_code}）",
                "events": [_event_row(e) for e in case.events],
            }
        )
    today = scope.rt.clock.now().astimezone(TIMEZONE).date()
    data = {
        "title": f"信访档案 {volume.volume_code}",
        "facts": [
            ("档号", volume.volume_code),
            ("年度", f"{year}年"),
            ("信访人", name),
            ("件数", f"{len(matters)}件"),
            ("立卷单位", tenant.name),
            ("出具日期", zh_date(today)),
        ],
        "matters": matters,
        "empty": "本卷没有可查看的事项。",
    }
    pdf = await render_layout(VOLUME, data, on=today)
    async with scope.tx():
        await audit.record_export(
            scope,
            what=f"visitor:{visitor_id}",
            rows=len(matters),
            fields=["archive.volume", "visitor.name", *(f"document.{k}" for k in sorted(kinds))],
        )
    return RenderedDocument("archive_volume", "档案卷", f"{volume.volume_code}.pdf", pdf)
