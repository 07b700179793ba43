"""Example third-party Xinfang plugin: housing management (住房保障/物业维修).

Found by the entry point ``housing = "xinfang_housing"`` in the ``xinfang.plugins``
group; uses only the public plugin API, ``core.plugin_api``.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import hookimpl

CATEGORY = "housing_repair"


@hookimpl
def xinfang_plugin_info() -> dict[str, Any]:
    return {
        "name": "housing",
        "title_zh": "住房保障与维修（示例插件）",
        "version": "0.1.0",
        "description": "第三方示例：公租房维修诉求的分类、表单与分派。",
    }


@hookimpl
def xinfang_default_config() -> dict[str, Any]:
    return {"department_code": "housing"}


@hookimpl
def xinfang_categories() -> list[dict[str, Any]]:
    return [
        {
            "code": CATEGORY,
            "title_zh": "住房维修",
            "group": "住房保障",
            "description": "公租房、保障房的维修诉求",
        }
    ]


@hookimpl
def xinfang_form_schema(category: str) -> list[dict[str, Any]] | None:
    if category != CATEGORY:
        return None
    return [
        {"code": "estate", "description": "小区", "datatype": "string", "required": True},
        {"code": "building", "description": "楼号", "datatype": "string", "required": True},
        {"code": "room", "description": "房号", "datatype": "string"},
        {
            "code": "repair_type",
            "description": "维修类型",
            "datatype": "singlevaluelist",
            "required": True,
            "values": [
                {"key": "leak", "name": "漏水"},
                {"key": "electric", "name": "电路"},
                {"key": "door_window", "name": "门窗"},
                {"key": "other", "name": "其他"},
            ],
        },
    ]


@hookimpl
def xinfang_route_case(ctx: Any, data: Any, form: dict[str, Any]) -> dict[str, Any] | None:
    if data.category != CATEGORY:
        return None
    route: dict[str, Any] = {"department_code": ctx.config["department_code"]}
    if form.get("repair_type") == "leak":
        route["urgency"] = "high"
        route["flags"] = {"housing_leak": True}
    return route


@hookimpl
def xinfang_pii_fields() -> list[str]:
    return ["room"]
