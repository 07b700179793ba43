"""年度信访工作报告 as Excel: what the 2022 regulation asks the annual report to cover —
volume (信访总量), categories and main problems (主要问题), handling (办理情况),
suggestions (意见建议: a section to write in) — plus the plugins' own sections
(``xinfang_report_sections``: counts of their categories only; no person, and never
an accused, is named). Every figure is ``core.services.stats`` over the year (matters
registered in it, Shanghai dates), as the statistics page and API compute them."""

from __future__ import annotations

from typing import Any

from core.plugin_api.types import TenantInfo
from core.services import sector, stats
from core.services.documents.typeset import REPORT, render_layout
from core.services.reports.xlsx import Column, Sheet, workbook
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.settings import TIMEZONE
from core.timefmt import zh_date, zh_datetime

NUMERALS = "一二三四五六七八九十"
SUGGESTIONS = "（请在此填写对改进工作、完善政策、解决普遍性问题的意见建议。）"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _volume(out: stats.StatsOut) -> list[list[Any]]:
    days = "—" if out.avg_handling_days is None else f"{out.avg_handling_days:.1f}"
    return [
        ["登记批次（件）", out.batches],
        ["人次", out.persons],
        ["集体访（批）", out.group_batches],
        ["重复访（件）", out.repeat_batches],
        ["一次性办结（件）", out.first_contact_closed],
        ["不予受理（件）", out.not_accepted],
        ["受理（件）", out.accepted],
        ["办结（件）", out.closed],
        ["按期办结（件）", out.closed_on_time],
        ["超期未结（件）", out.overdue_open],
        ["办结率", _pct(out.rates.closure_rate)],
        ["按期办结率", _pct(out.rates.on_time_rate)],
        ["一次性办结率", _pct(out.rates.first_contact_rate)],
        ["重复访率", _pct(out.rates.repeat_rate)],
        ["平均办理天数", days],
        ["回访满意率", _pct(out.satisfaction.rate)],
        [f"息访率（办结后 {out.settled.months} 个月未再访）", _pct(out.settled.rate)],
    ]


def _share(part: int, whole: int) -> str:
    return _pct(part / whole) if whole else "—"


async def _sheets(scope: Scope, year: int) -> tuple[TenantInfo, str, list[Sheet]]:
    """The report's sections as sheets: the workbook's, and the PDF's tables."""
    tenant = await get_tenant(scope)
    out = await stats.compute(
        scope, stats.make_query(scope, start=f"{year}-01-01", end=f"{year}-12-31")
    )
    title = f"{tenant.name} {year}年度信访工作报告"
    by_category = {b.key: b for b in out.by_category}
    problems = sorted(out.by_category, key=lambda b: (-b.batches, b.label))
    sections = await sector.report_sections(scope, tenant)
    section_rows = []
    for s in sections:
        buckets = [by_category[c] for c in s.categories if c in by_category]
        section_rows.append(
            [
                s.title_zh,
                sum(b.batches for b in buckets),
                sum(b.persons for b in buckets),
                sum(b.closed for b in buckets),
            ]
        )
    note = f"统计口径：{year}年内登记的信访事项（北京时间）；截至 {zh_datetime(out.as_of)}。"
    sheets = [
        Sheet(
            "信访总量",
            f"{title}——信访总量",
            [Column("指标", 36), Column("数值", 14)],
            _volume(out),
            note,
        ),
        Sheet(
            "按月",
            f"{title}——按月登记与办结",
            [Column("月份", 14), Column("批次", 10), Column("人次", 10), Column("办结", 10)],
            [[b.label, b.batches, b.persons, b.closed] for b in out.by_month],
            note,
        ),
        Sheet(
            "主要问题",
            f"{title}——问题类别与主要问题",
            [
                Column("问题类别", 24),
                Column("批次", 10),
                Column("占比", 10),
                Column("人次", 10),
                Column("集体访", 10),
                Column("重复访", 10),
            ],
            [
                [
                    b.label,
                    b.batches,
                    _share(b.batches, out.batches),
                    b.persons,
                    b.group_batches,
                    b.repeat_batches,
                ]
                for b in problems
            ],
            "按批次从多到少排列。" + note,
        ),
        Sheet(
            "办理情况",
            f"{title}——办理情况（按承办部门）",
            [
                Column("承办部门", 24),
                Column("批次", 10),
                Column("受理", 10),
                Column("不予受理", 10),
                Column("办结", 10),
                Column("按期办结", 10),
                Column("超期未结", 10),
            ],
            [
                [
                    b.label,
                    b.batches,
                    b.accepted,
                    b.not_accepted,
                    b.closed,
                    b.closed_on_time,
                    b.overdue_open,
                ]
                for b in out.by_department
            ],
            note,
        ),
        Sheet(
            "意见建议",
            f"{title}——意见建议",
            [Column("意见建议", 100, wrap=True)],
            [[SUGGESTIONS]],
        ),
    ]
    if section_rows:
        sheets.insert(
            4,
            Sheet(
                "专项统计",
                f"{title}——专项统计",
                [Column("专项", 28), Column("批次", 10), Column("人次", 10), Column("办结", 10)],
                section_rows,
                "仅统计件数，不列当事人和被反映人。" + note,
            ),
        )
    return tenant, title, sheets


async def annual_report(scope: Scope, year: int) -> tuple[str, bytes]:
    """(file name, .xlsx) of the year's report for the reader's organization."""
    _, _, sheets = await _sheets(scope, year)
    return f"年度信访工作报告-{year}.xlsx", await workbook(sheets)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


async def annual_pdf(scope: Scope, year: int) -> tuple[str, bytes]:
    """(file name, PDF) of the year's report: the same sections as the workbook, set in
    type like the documents (Typst, Noto CJK), numbered 一、二、…"""
    tenant, title, sheets = await _sheets(scope, year)
    today = scope.rt.clock.now().astimezone(TIMEZONE).date()
    sections = []
    for n, sheet in enumerate(sheets):
        suggestions = sheet.name == "意见建议"
        sections.append(
            {
                "heading": f"{NUMERALS[n]}、{sheet.name}",
                "paragraphs": [SUGGESTIONS] if suggestions else [],
                "headers": [] if suggestions else [c.header for c in sheet.columns],
                "rows": [] if suggestions else [[_text(v) for v in row] for row in sheet.rows],
                "note": sheet.note,
            }
        )
    data = {
        "title": title,
        "intro": [
            f"根据《信访工作条例》，现将本机构{year}年度信访工作情况报告如下。"
            "各项数字为当年登记的信访事项（按北京时间登记日期统计）。"
        ],
        "sections": sections,
        "signer": tenant.name,
        "date": zh_date(today),
    }
    return f"年度信访工作报告-{year}.pdf", await render_layout(REPORT, data, on=today)
