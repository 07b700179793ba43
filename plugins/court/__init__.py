"""Sector plugin: court (人民法院).

- Categories appeal / retrial / execution / conduct; the 案号 is parsed and validated
  (:mod:`plugins.court.case_number`) with clear errors, and stored canonically.
- 诉访分离: a request to change a judgment is litigation, not a petition — the case is
  redirected (not accepted) with a notice naming the proper channel (上诉, 申请再审,
  执行异议).
- Routing: 立案庭 (filing), 执行局/庭 (execution) or the trial division by case type;
  conduct complaints to the discipline office. Department codes are tenant settings.
- Clocks: the retrial petition window (six months after the judgment takes effect) —
  the petitioner's own, shown but never reminded to staff; the 四接访 rota templates.
  No execution-objection clock: a written objection is reviewed (15 days) in the
  execution procedure, which 诉访分离 keeps out of the petition track (docs/plugins.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.plugin_api import (
    CaseDraft,
    Category,
    Choice,
    ClockRule,
    Document,
    FormField,
    HookContext,
    InvalidInput,
    PluginInfo,
    Redirect,
    ReportSection,
    RotaTemplate,
    Route,
    hookimpl,
)
from plugins.court.case_number import CaseNumber, parse_case_number, route_division

NAME = "court"

CATEGORIES = [
    ("appeal", "不服裁判申诉", "对法院裁判结果不服"),
    ("retrial", "申请再审/申诉", "对生效裁判申请再审或申诉"),
    ("execution", "执行投诉", "执行不力、拖延执行、执行行为违法"),
    ("conduct", "干警作风", "审判作风、司法廉洁问题"),
]
CODES = {c for c, _, _ in CATEGORIES}
DEFAULT_DEPARTMENTS = {
    "filing": "filing",
    "execution": "execution",
    "trial": "trial",
    "conduct": "discipline",
}

_SEEKS = FormField(
    code="seeks",
    description="诉求性质",
    datatype="singlevaluelist",
    required=True,
    values=[
        Choice(key="complaint", name="反映问题（拖延、作风、执行不力等）"),
        Choice(key="change_judgment", name="要求改变裁判结果或执行行为"),
    ],
    datatype_description="要求改变裁判结果属于诉讼事项，依法通过诉讼程序解决（诉访分离）。",
)


def _case_number(required: bool) -> FormField:
    return FormField(
        code="case_number",
        description="案号",
        datatype="string",
        required=required,
        max_length=60,
        datatype_description="如 (2024)京0105民初12345号。",
    )


@hookimpl
def xinfang_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        title_zh="人民法院",
        version="1.0",
        description="案号校验、诉访分离、按案件类型分流至立案庭/执行局/审判庭、四接访。",
    )


@hookimpl
def xinfang_default_config() -> dict[str, Any]:
    return {"departments": dict(DEFAULT_DEPARTMENTS)}


@hookimpl
def xinfang_validate_config(config: dict[str, Any]) -> dict[str, Any] | None:
    departments = config.get("departments", {})
    if not isinstance(departments, dict) or set(departments) - set(DEFAULT_DEPARTMENTS):
        raise InvalidInput(
            "court_departments",
            "departments 只能设置 filing、execution、trial、conduct 对应的部门代码。",
            field="departments",
        )
    return config


@hookimpl
def xinfang_categories() -> list[Category]:
    return [Category(code=c, title_zh=t, group="诉讼服务", description=d) for c, t, d in CATEGORIES]


@hookimpl
def xinfang_form_schema(category: str) -> list[FormField] | None:
    if category not in CODES:
        return None
    if category == "conduct":
        return [
            _case_number(False),
            FormField(code="officer_name", description="被反映人员", datatype="string"),
        ]
    return [
        _case_number(True),
        _SEEKS,
        FormField(
            code="effective_date",
            description="裁判生效日期",
            datatype="datetime",
            datatype_description="申请再审时填写，用于计算六个月期限。",
        ),
    ]


def _parse(ctx: HookContext, form: dict[str, Any]) -> CaseNumber | None:
    text = form.get("case_number")
    if not text:
        return None
    return parse_case_number(text, today=ctx.today(), field="form.case_number")


@hookimpl
def xinfang_validate_form(
    ctx: HookContext, category: str, form: dict[str, Any]
) -> dict[str, Any] | None:
    if category not in CODES:
        return None
    out = dict(form)
    number = _parse(ctx, form)
    if number is None:
        return out
    if category == "execution" and number.category != "execution":
        raise InvalidInput(
            "case_type_mismatch",
            f"执行投诉应填写执行案号（如 (2024)京0105执123号），“{number.text}”是"
            f"{number.case_type}案件。",
            field="form.case_number",
        )
    if category == "appeal" and number.stage not in ("first_instance", "appeal"):
        raise InvalidInput(
            "case_type_mismatch",
            f"不服裁判申诉应针对一审或二审案件，“{number.text}”的类型为{number.case_type}。",
            field="form.case_number",
        )
    out.update(
        case_number=number.text,
        case_year=number.year,
        court_code=number.court_code,
        case_type=number.case_type,
        case_stage=number.stage,
        division=route_division(number),
    )
    return out


def redirect_for(category: str, form: dict[str, Any]) -> Redirect | None:
    """诉访分离: where a litigation request belongs instead."""
    if category == "conduct" or form.get("seeks") != "change_judgment":
        return None
    stage = form.get("case_stage")
    if category == "execution" or form.get("division") == "execution":
        return Redirect(
            channel="执行异议/复议",
            reason="对执行行为有异议属于诉讼（执行）程序事项。",
            notice="请向执行法院提交书面执行异议，法院自收到之日起十五日内审查；"
            "对裁定不服的，可向上一级法院申请复议。",
        )
    if stage == "first_instance":
        return Redirect(
            channel="上诉",
            reason="对一审裁判不服属于诉讼事项。",
            notice="请在法定上诉期内（判决书送达之日起十五日、裁定书送达之日起十日）"
            "通过原审法院或直接向上一级法院提交上诉状。",
        )
    return Redirect(
        channel="申请再审",
        reason="要求改变生效裁判属于诉讼事项。",
        notice="请在裁判发生法律效力后六个月内，向上一级法院或原审法院立案庭"
        "（诉讼服务中心）提交再审申请书及证据材料。",
    )


@hookimpl
def xinfang_route_case(ctx: HookContext, data: CaseDraft, form: dict[str, Any]) -> Route | None:
    if data.category not in CODES:
        return None
    departments = {**DEFAULT_DEPARTMENTS, **(ctx.config.get("departments") or {})}
    if data.category == "conduct":
        division = "conduct"
    else:
        division = form.get("division") or (
            "execution" if data.category == "execution" else "filing"
        )
    return Route(
        department_code=departments[division],
        flags={"court_division": division},
        redirect=redirect_for(data.category, form),
    )


@hookimpl
def xinfang_extra_clocks() -> dict[str, ClockRule]:
    return {
        "retrial_petition": ClockRule(
            name="retrial_petition",
            days=6,
            mode="months",
            title_zh="申请再审期限（裁判生效后六个月）",
            basis="《民事诉讼法》第二百一十六条",
            petitioner=True,
        ),
    }


@hookimpl
async def xinfang_case_event(ctx: HookContext, case: dict[str, Any], kind: str) -> None:
    """A retrial matter with the judgment's effective date shows the petitioner's
    six-month window (redirected or not: it is theirs, never a staff clock)."""
    if kind != "registered" or case.get("category") != "retrial":
        return
    case_id = int(case["id"])
    stored = await ctx.cases.get(case_id)
    effective = stored.form.get("effective_date") if stored else None
    if effective:
        await ctx.deadlines.start(case_id, "retrial_petition", date.fromisoformat(effective[:10]))


@hookimpl
def xinfang_rota_templates() -> list[RotaTemplate]:
    """The four reception forms (四接访); :mod:`plugins.court.rota` builds the rotas."""
    return [
        RotaTemplate(
            code="leader_regular", title_zh="领导定期接访", kind="leader_day", cadence="weekly"
        ),
        RotaTemplate(
            code="leader_appointment",
            title_zh="领导预约接访（约访）",
            kind="leader_appointment",
            cadence="on_demand",
        ),
        RotaTemplate(
            code="leader_onsite",
            title_zh="领导带案下访",
            kind="leader_onsite",
            cadence="monthly",
        ),
        RotaTemplate(
            code="leader_case", title_zh="领导包案接访", kind="leader_case", cadence="per_case"
        ),
    ]


@hookimpl
def xinfang_documents() -> list[Document]:
    return [
        Document(
            code="litigation_redirect_notice",
            title_zh="诉访分离告知书",
            template="您反映的事项（回执号 {receipt_code}）属于诉讼事项，"
            "依法应通过{channel}程序解决。{notice}",
        )
    ]


@hookimpl
def xinfang_report_sections() -> list[ReportSection]:
    return [
        ReportSection(
            code="litigation_redirects",
            title_zh="诉访分离导入诉讼程序",
            categories=sorted(CODES),
        ),
        ReportSection(code="execution_complaints", title_zh="执行类信访", categories=["execution"]),
    ]
