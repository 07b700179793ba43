"""Sector plugin: police (公安机关).

- A complaint against an officer (警号, unit) goes to 督察 and is hidden from the
  accused officer (staff account whose username or title is the 警号) and their unit.
- First visits stay with the station (所队) named in the form or configured; repeat
  visits (the same petitioner's same matter, as core repeat detection finds it:
  ``ctx.repeats``) go to the branch (分局) petition office.
- The result must be told to the complainant before a case can be closed: staff record
  it with ``POST /api/v1/plugins/police/cases/{id}/result-told``.
- Disruptive behaviour / emergency handover is recorded with time and receiving officer
  (``POST /api/v1/plugins/police/cases/{id}/handover``).
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    Accused,
    Actor,
    CaseDraft,
    Category,
    Conflict,
    Document,
    FormField,
    HookContext,
    InvalidInput,
    PluginInfo,
    ReportSection,
    Route,
    hookimpl,
)

NAME = "police"
RESULT_TOLD = "result_told"
HANDOVER = "handover"
CLOSING_ACTIONS = ("close", "approve_report")

CATEGORIES = [
    ("officer_conduct", "民警执法执勤问题", "投诉民警态度、执法行为、违纪违法"),
    ("law_enforcement", "执法办案", "立案、侦查、办案程序问题"),
    ("household", "户籍管理", "户口迁移、身份证办理"),
    ("traffic", "交通管理", "交通事故处理、违章处理"),
    ("public_order", "治安管理", "治安案件、噪音、纠纷"),
]
CODES = {c for c, _, _ in CATEGORIES}
BADGE = FormField(
    code="officer_badge",
    description="警号",
    datatype="string",
    required=True,
    pattern=r"\d{6}",
    datatype_description="6 位数字警号。",
)


@hookimpl
def xinfang_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        title_zh="公安机关",
        version="1.0",
        description="投诉民警转督察并对被投诉人回避、初访/重访分级、结果告知、移交记录。",
    )


@hookimpl
def xinfang_default_config() -> dict[str, Any]:
    return {"inspection_code": "inspection", "branch_code": "petition", "default_station": None}


@hookimpl
def xinfang_categories() -> list[Category]:
    return [Category(code=c, title_zh=t, group="公安业务", description=d) for c, t, d in CATEGORIES]


@hookimpl
def xinfang_form_schema(category: str) -> list[FormField] | None:
    if category not in CODES:
        return None
    if category == "officer_conduct":
        return [
            BADGE,
            FormField(
                code="officer_unit",
                description="民警所在单位（部门代码）",
                datatype="string",
                required=True,
                max_length=63,
            ),
            FormField(code="officer_name", description="民警姓名", datatype="string"),
            FormField(code="incident_at", description="事发日期", datatype="datetime"),
        ]
    return [
        FormField(
            code="station",
            description="辖区所队（部门代码）",
            datatype="string",
            max_length=63,
            datatype_description="初次来访由辖区派出所/大队办理。",
        )
    ]


@hookimpl
def xinfang_pii_fields() -> list[str]:
    return ["officer_badge", "officer_name"]


async def _is_repeat(ctx: HookContext, data: CaseDraft, actor: Actor) -> bool:
    """The same matter again: this person's earlier matter in the category with similar
    facts, as core repeat detection sees it (never one hidden from the registrar)."""
    visitor_id = data.visitor_id
    if visitor_id is None and data.visitor is not None:
        visitor_id = await ctx.visitors.find(data.visitor)
    if visitor_id is None:
        return False
    accused = data.accused
    earlier = await ctx.repeats.earlier_matter(
        visitor_id=visitor_id,
        category=data.category,
        cause=data.cause,
        actor=actor,
        accused_user_ids=accused.user_ids if accused else (),
        accused_department_ids=accused.department_ids if accused else (),
    )
    return earlier is not None


@hookimpl
async def xinfang_route_case(
    ctx: HookContext, data: CaseDraft, form: dict[str, Any], actor: Actor
) -> Route | None:
    if data.category not in CODES:
        return None
    config = ctx.config
    async with ctx.transaction():
        if data.category == "officer_conduct":
            badge, unit = form["officer_badge"], form["officer_unit"]
            if not await ctx.staff.department_exists(unit):
                raise InvalidInput(
                    "unknown_unit", f"单位代码 {unit} 不存在。", field="form.officer_unit"
                )
            return Route(
                department_code=config["inspection_code"],
                urgency="high",
                flags={"against_officer": True},
                accused=Accused(
                    user_ids=await ctx.staff.named(badge),
                    department_codes=[unit],
                    staff_names=[badge],  # accounts given this badge later, too
                ),
            )
        if await _is_repeat(ctx, data, actor):
            return Route(department_code=config["branch_code"], flags={"visit_level": "branch"})
    station = form.get("station") or config.get("default_station")
    return Route(department_code=station, flags={"visit_level": "station"})


@hookimpl
async def xinfang_before_transition(ctx: HookContext, case: dict[str, Any], action: str) -> None:
    if action not in CLOSING_ACTIONS:
        return
    if not await ctx.events.exists(int(case["id"]), RESULT_TOLD):
        raise Conflict(
            "result_not_told",
            "办结前须将处理结果告知信访人：请先登记“结果告知”（告知方式与时间）。",
            field="result_told",
            missing_step=RESULT_TOLD,
        )


@hookimpl
def xinfang_routes() -> list[Any]:
    from plugins.police.routes import ROUTES

    return ROUTES


@hookimpl
def xinfang_documents() -> list[Document]:
    return [
        Document(
            code="result_notice",
            title_zh="信访事项处理结果告知书",
            template="您反映的事项（回执号 {receipt_code}）已办理完毕，处理结果如下：{result}",
        )
    ]


@hookimpl
def xinfang_report_sections() -> list[ReportSection]:
    return [
        ReportSection(
            code="officer_complaints", title_zh="投诉民警", categories=["officer_conduct"]
        )
    ]
