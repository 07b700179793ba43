"""/api/v1 reports and exports: the archive volume of a petitioner's year as PDF and the
monthly 矛盾纠纷排查表 as Excel. Handlers only translate HTTP ↔ services
(``core.services.documents.archive``, ``core.services.reports``)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from litestar import Response, Router, get
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from core.errors import NotFound
from core.schemas import Id
from core.services import reports
from core.services.documents import archive
from core.web.api import CaseFilters, case_filters
from core.web.auth import CallerScope, requires, requires_staff

PDF = "application/pdf"
requires_supervisor = requires("supervisor", "admin")
MonthParam = Annotated[str, Parameter(max_length=40, description="月份 YYYY-MM，如 2026-09")]
VolumeName = Annotated[str, Parameter(max_length=12, description="卷的年度加 .pdf，如 2026.pdf")]


def _file(content: bytes, media_type: str, filename: str, *, inline: bool) -> Response[bytes]:
    how = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": f"{how}; filename*=UTF-8''{quote(filename)}",
            "cache-control": "no-store",
        },
    )


@get(
    "/visitors/{visitor_id:int}/archive/{volume:str}",
    media_type=PDF,
    guards=[requires_staff],
    response_description="档案卷 PDF（卷内目录、各事项文书与办理过程）",
)
async def archive_volume_pdf(
    sc: CallerScope, visitor_id: Id, volume: FromPath[VolumeName]
) -> Response[bytes]:
    """立卷归档: the petitioner's volume of a year as PDF — the 卷内目录 (number, date,
    receipt code, title, pages), then each matter's documents and events in order. 404:
    another organization's person, one none of whose matters the caller may see, or no
    volume of that year; matters hidden from the caller are not in it."""
    m = re.fullmatch(r"([0-9]{4})\.pdf", volume)
    if m is None:
        raise NotFound("volume_not_found", "卷的地址应为年度加 .pdf，如 2026.pdf。", field="year")
    out = await archive.render_volume(sc, visitor_id, int(m.group(1)))
    return _file(out.pdf, PDF, out.filename, inline=True)


@get(
    "/reports/screening.xlsx",
    media_type=reports.XLSX,
    guards=[requires_supervisor],
    response_description="矛盾纠纷排查表（Excel，每个部门一个工作表）",
)
async def screening_xlsx(sc: CallerScope, month: MonthParam) -> Response[bytes]:
    """矛盾纠纷排查表 of a month: one sheet per department, one row per matter registered
    that month (parties masked, risk level, measures, handler, deadline, status).
    督查督办 and administrators only; 400 ``invalid_month`` (field ``month``)."""
    filename, content = await reports.screening_sheet(sc, reports.parse_month(month))
    return _file(content, reports.XLSX, filename, inline=False)


Year = Annotated[int, Parameter(ge=2000, le=2100, description="年度，如 2026")]


@get(
    "/reports/annual.xlsx",
    media_type=reports.XLSX,
    guards=[requires_supervisor],
    response_description="年度信访工作报告（Excel）",
)
async def annual_xlsx(sc: CallerScope, year: Year) -> Response[bytes]:
    """年度信访工作报告: volume, categories and main problems, handling by department,
    the plugins' sections (counts only), a suggestions section to fill in. 督查督办 and
    administrators only."""
    filename, content = await reports.annual_report(sc, year)
    return _file(content, reports.XLSX, filename, inline=False)


@get(
    "/reports/annual.pdf",
    media_type=PDF,
    guards=[requires_supervisor],
    response_description="年度信访工作报告（PDF）",
)
async def annual_report_pdf(sc: CallerScope, year: Year) -> Response[bytes]:
    """年度信访工作报告 as PDF: the same sections as ``annual.xlsx``, set like the
    documents (Noto CJK embedded). 督查督办 and administrators only."""
    filename, content = await reports.annual_pdf(sc, year)
    return _file(content, PDF, filename, inline=True)


Clear = Annotated[
    bool,
    Parameter(description="1：导出完整个人信息（仅督查督办、系统管理员；写入审计日志）"),
]


@get(
    "/cases.xlsx",
    media_type=reports.XLSX,
    guards=[requires_staff],
    dependencies={"filters": Provide(case_filters)},
    response_description="信访事项清单（Excel）",
)
async def cases_xlsx(
    sc: CallerScope, filters: CaseFilters, clear: Clear = False
) -> Response[bytes]:
    """The case list as Excel, with the same filters as ``GET /cases`` (same refusals:
    400 ``invalid_filter``), every matching matter up to 50,000 (400 ``too_many_rows``).
    Names, ID numbers and phones masked; ``clear=1`` in clear for 督查督办 and
    administrators (403 ``clear_not_allowed`` otherwise), recorded in the audit log."""
    filename, content, _ = await reports.export_cases(sc, filters, clear=clear)
    return _file(content, reports.XLSX, filename, inline=False)


def reports_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[
            archive_volume_pdf,
            screening_xlsx,
            annual_xlsx,
            annual_report_pdf,
            cases_xlsx,
        ],
        tags=["reports"],
    )
