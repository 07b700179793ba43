"""Sector plugin: enterprise_logistics (供热、供水、供电、环卫、物业、收费).

- Categories water/power/heating/sanitation/property/fees with their forms
  (building/unit/room, account and meter numbers, measured indoor temperature,
  disputed amount and billing period).
- A heating complaint with an indoor temperature below the tenant's standard (default
  18 °C) during the tenant's heating season goes at once to the heating department
  with the highest urgency.
- Complaints about one building cluster (estate + building) within a window (default:
  5 within 24 h) are linked as one incident and the tenant's leaders are alerted once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import msgspec

from core.plugin_api import (
    CaseDraft,
    Category,
    Choice,
    Document,
    FormField,
    HookContext,
    InvalidInput,
    PluginInfo,
    ReportSection,
    Route,
    case_url,
    hookimpl,
)

NAME = "enterprise_logistics"

CATEGORIES = [
    ("heating", "供暖", "室温不达标、暖气不热、漏水等供热问题"),
    ("water", "供水", "停水、水压、水质、水表问题"),
    ("power", "供电", "停电、电压、电表问题"),
    ("sanitation", "环卫", "垃圾清运、公共区域卫生"),
    ("property", "物业", "物业服务、维修、公共设施"),
    ("fees", "收费争议", "水费、电费、供暖费、物业费等收费争议"),
]
DEFAULT_DEPARTMENTS = {
    "heating": "heating",
    "water": "water",
    "power": "power",
    "sanitation": "sanitation",
    "property": "property",
    "fees": "billing",
}

_ADDRESS = (
    FormField(code="estate", description="小区/片区", datatype="string", max_length=100),
    FormField(code="building", description="楼号", datatype="string", max_length=30),
    FormField(code="unit", description="单元", datatype="string", max_length=30),
    FormField(code="room", description="房号", datatype="string", max_length=30),
)
_ACCOUNT = FormField(
    code="account_number",
    description="户号",
    datatype="string",
    pattern=r"[A-Za-z0-9-]{4,30}",
    datatype_description="缴费户号，4–30 位字母或数字。",
)
_METER = FormField(
    code="meter_number",
    description="表号",
    datatype="string",
    pattern=r"[A-Za-z0-9-]{4,30}",
    datatype_description="水表/电表/热表表号。",
)
_TEMP = FormField(
    code="indoor_temp",
    description="实测室温（°C）",
    datatype="number",
    min=-30,
    max=40,
    datatype_description="在室内中央、距地面 1.4 米处测得的温度。",
)
_AMOUNT = FormField(
    code="disputed_amount",
    description="争议金额（元）",
    datatype="number",
    required=True,
    min=0,
    max=10_000_000,
)
_PERIOD = FormField(
    code="billing_period",
    description="计费期间",
    datatype="string",
    required=True,
    pattern=r"\d{4}-\d{2}(~\d{4}-\d{2})?",
    datatype_description="如 2026-10 或 2025-11~2026-03。",
)
_UTILITY = FormField(
    code="utility",
    description="收费项目",
    datatype="singlevaluelist",
    required=True,
    values=[
        Choice(key="heating", name="供暖费"),
        Choice(key="water", name="水费"),
        Choice(key="power", name="电费"),
        Choice(key="property", name="物业费"),
    ],
)


def _schema(category: str) -> list[FormField]:
    estate, building, unit, room = _ADDRESS
    if category == "heating":
        required = msgspec.structs.replace(building, required=True)
        return [estate, required, unit, room, _ACCOUNT, _TEMP]
    if category in ("water", "power"):
        return [*_ADDRESS, _ACCOUNT, _METER]
    if category == "fees":
        account = msgspec.structs.replace(_ACCOUNT, required=True)
        return [*_ADDRESS, account, _UTILITY, _AMOUNT, _PERIOD]
    return list(_ADDRESS)


@hookimpl
def xinfang_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        title_zh="企业后勤（供热/供水/供电/物业）",
        version="1.0",
        description="公用事业与物业企业：分类表单、低温快速派单、楼栋集中投诉合并为事件。",
    )


@hookimpl
def xinfang_default_config() -> dict[str, Any]:
    return {
        "temp_standard": 18,
        "heating_season": {"start": "11-15", "end": "03-15"},
        "cluster_threshold": 5,
        "cluster_window_hours": 24,
        "departments": dict(DEFAULT_DEPARTMENTS),
    }


def _month_day(text: str, key: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{2})-(\d{2})", str(text))
    if not m or not (1 <= int(m[1]) <= 12 and 1 <= int(m[2]) <= 31):
        raise InvalidInput(
            "heating_season_format", "供暖季起止日期应写作 MM-DD，如 11-15。", field=key
        )
    return int(m[1]), int(m[2])


@hookimpl
def xinfang_validate_config(config: dict[str, Any]) -> dict[str, Any] | None:
    out = dict(config)
    if "temp_standard" in out:
        try:
            out["temp_standard"] = float(out["temp_standard"])
        except (TypeError, ValueError):
            raise InvalidInput(
                "temp_standard_format", "室温标准应为数字（°C）。", field="temp_standard"
            ) from None
        if not 10 <= out["temp_standard"] <= 26:
            raise InvalidInput(
                "temp_standard_range", "室温标准应在 10–26 °C 之间。", field="temp_standard"
            )
    season = out.get("heating_season")
    if season is not None:
        if not isinstance(season, dict):
            raise InvalidInput(
                "heating_season_format", "供暖季应为 {start, end}。", field="heating_season"
            )
        _month_day(season.get("start", ""), "heating_season.start")
        _month_day(season.get("end", ""), "heating_season.end")
    for key in ("cluster_threshold", "cluster_window_hours"):
        if key in out and (not isinstance(out[key], int) or out[key] < 1):
            raise InvalidInput("config_range", f"{key} 应为正整数。", field=key)
    return out


def in_heating_season(day: date, season: dict[str, str]) -> bool:
    """Whether ``day`` falls in the season (which may wrap the new year)."""
    start = _month_day(season["start"], "heating_season.start")
    end = _month_day(season["end"], "heating_season.end")
    md = (day.month, day.day)
    if start <= end:
        return start <= md <= end
    return md >= start or md <= end


@hookimpl
def xinfang_categories() -> list[Category]:
    return [
        Category(code=code, title_zh=title, group="公用事业", description=desc)
        for code, title, desc in CATEGORIES
    ]


@hookimpl
def xinfang_form_schema(category: str) -> list[FormField] | None:
    if category not in DEFAULT_DEPARTMENTS:
        return None
    return _schema(category)


@hookimpl
def xinfang_validate_form(category: str, form: dict[str, Any]) -> dict[str, Any] | None:
    if category not in DEFAULT_DEPARTMENTS:
        return None
    period = form.get("billing_period")
    if period:
        parts = period.split("~")
        months = [(int(p[:4]), int(p[5:7])) for p in parts]
        if any(not 1 <= m <= 12 for _, m in months) or (len(months) == 2 and months[0] > months[1]):
            raise InvalidInput(
                "billing_period_invalid",
                "计费期间不正确：月份应在 1–12 之间，且起始月不晚于结束月。",
                field="form.billing_period",
            )
    return form


def cluster_key(form: dict[str, Any]) -> str | None:
    """The building cluster a complaint is about: estate + building, spacing and
    full-width forms folded; None when the building is unknown."""
    building = str(form.get("building") or "")
    if not building:
        return None

    def fold(text: str) -> str:
        text = (
            re.sub(r"\s+", "", text)
            .lower()
            .translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        )
        return re.sub(r"(号楼|号|栋|幢|楼)$", "", text)

    return f"{fold(str(form.get('estate') or ''))}|{fold(building)}"


@hookimpl
def xinfang_route_case(ctx: HookContext, data: CaseDraft, form: dict[str, Any]) -> Route | None:
    category = data.category
    if category not in DEFAULT_DEPARTMENTS:
        return None
    config = ctx.config
    departments = {**DEFAULT_DEPARTMENTS, **(config.get("departments") or {})}
    route = Route(department_code=departments[category])
    temp = form.get("indoor_temp")
    if category == "heating" and temp is not None:
        day = data.received_at.date() if data.received_at else ctx.today()
        standard = float(config["temp_standard"])
        if in_heating_season(day, config["heating_season"]) and float(temp) < standard:
            route.urgency = "urgent"
            route.department_code = departments["heating"]
            route.flags["below_standard_temp"] = {"measured": temp, "standard": standard}
    if category == "fees":
        route.flags["billing_dispute"] = {
            "amount": form.get("disputed_amount"),
            "period": form.get("billing_period"),
        }
    return route


@hookimpl
async def xinfang_case_event(ctx: HookContext, case: dict[str, Any], kind: str) -> None:
    if kind != "registered":
        return
    await link_incident(ctx, int(case["id"]))


async def link_incident(ctx: HookContext, case_id: int) -> dict[str, Any] | None:
    """Link this case with the recent complaints about the same building cluster; at
    the threshold they become one incident and the leaders are alerted (once)."""
    config = ctx.config
    async with ctx.transaction():
        case = await ctx.cases.get(case_id)
        if case is None or case.category not in DEFAULT_DEPARTMENTS:
            return None
        key = cluster_key(case.form)
        if key is None:
            return None
        since = case.received_at - timedelta(hours=int(config["cluster_window_hours"]))
        nearby = await ctx.cases.received_between(case.category, since, case.received_at)
        members = [c for c in nearby if cluster_key(c.form) == key]
        if len(members) < int(config["cluster_threshold"]):
            return None
        existing = [c.flags["incident"] for c in members if c.flags.get("incident")]
        lead = existing[0]["lead_case_id"] if existing else members[0].id
        incident = {"key": key, "lead_case_id": lead, "category": case.category}
        for c in members:
            await ctx.cases.merge_flags(c.id, {"incident": {**incident, "size": len(members)}})
        leaders = await ctx.staff.with_role("leader")
        now = ctx.now()
        if not existing:
            await ctx.events.record(
                lead,
                "incident_linked",
                {"case_ids": [c.id for c in members], "key": key},
                at=now,
            )
        for leader in leaders:
            await ctx.events.notify(
                "incident.detected",
                recipient_id=leader.id,
                dedupe_key=f"incident:{lead}:{leader.id}",
                at=now,
                payload={
                    "lead_case_id": lead,
                    "category": case.category,
                    "size": len(members),
                    "title": "【集中投诉】同一楼栋多件投诉已合并为一个事件",
                    "body": f"同一楼栋 {int(config['cluster_window_hours'])} 小时内"
                    f"已有 {len(members)} 件投诉，已合并为一个事件，请关注。",
                    "link": case_url(lead),
                },
            )
        return {**incident, "size": len(members)}


@hookimpl
def xinfang_pii_fields() -> list[str]:
    return ["room", "account_number", "meter_number"]


@hookimpl
def xinfang_documents() -> list[Document]:
    return [
        Document(
            code="heating_repair_notice",
            title_zh="供热维修告知单",
            template="您反映的{address}室温不达标问题已登记（回执号 {receipt_code}），"
            "供热服务部将在 24 小时内上门处理。",
        )
    ]


@hookimpl
def xinfang_report_sections() -> list[ReportSection]:
    return [
        ReportSection(
            code="heating_below_standard", title_zh="室温不达标投诉", categories=["heating"]
        ),
        ReportSection(code="billing_disputes", title_zh="收费争议", categories=["fees"]),
    ]
