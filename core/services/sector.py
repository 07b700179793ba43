"""The seam between the case services and the tenant's sector plugins.

The case services call these functions at fixed points; they call the tenant's enabled
plugins' hooks and turn a plugin's exception into a clear error naming the plugin. A
tenant without plugins gets the plain core behaviour.

Each takes the scope and the tenant's ``TenantInfo`` (which plugins, their settings),
read once by the operation that calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.errors import InvalidInput
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.schemas import CaseIn
from core.services import audit
from core.services.scope import Scope

CORE_CATEGORIES: list[dict[str, Any]] = [
    {"code": "general", "title_zh": "综合", "group": "综合", "description": "一般信访事项"},
]
URGENCY_ORDER = ("normal", "high", "urgent")
"""Lowest to highest; when several plugins speak, the highest wins."""
DATATYPES = ("string", "text", "number", "datetime", "singlevaluelist", "multivaluelist", "boolean")
_MAX_FIELD_TEXT = 2000


@dataclass
class Prepared:
    """What the plugins decided about a new case before it is written."""

    form: dict[str, Any] = field(default_factory=dict)
    """The sector form data, validated and normalised."""
    department_code: str | None = None
    """Route to this department (by code) unless the clerk chose one."""
    urgency: str = "normal"
    flags: dict[str, Any] = field(default_factory=dict)
    accused: dict[str, Any] = field(default_factory=dict)
    """Who must never see the case: {"user_ids": [...], "department_codes": [...],
    "staff_names": [...]} — a staff name (e.g. 警号) hides the case from any account
    with that username or title, now or later."""
    redirect: dict[str, Any] | None = None
    """诉访分离: {"channel": ..., "reason": ..., "notice": ...} when the matter belongs
    elsewhere."""
    plugin: str | None = None
    """The plugin owning the case's category (None: a core category)."""


def _host(rt: Runtime) -> Any:
    return rt.plugins


async def categories(scope: Scope, tenant: TenantInfo) -> list[dict[str, Any]]:
    """Every case category available to the tenant: core's plus its plugins'."""
    out = [{**c, "plugin": None} for c in CORE_CATEGORIES]
    rt = scope.rt
    host = _host(rt)
    if host is None:
        return out
    seen = {c["code"] for c in out}
    for name, items in await host.call(rt, tenant, "xinfang_categories"):
        for item in items:
            if item["code"] not in seen:
                seen.add(item["code"])
                out.append({**item, "plugin": name})
    return out


async def category(scope: Scope, tenant: TenantInfo, code: str) -> dict[str, Any]:
    """One of the tenant's categories, or ``unknown_category``."""
    for item in await categories(scope, tenant):
        if item["code"] == code:
            return item
    raise InvalidInput(
        "unknown_category",
        f"类别 {code} 不存在或本机构未启用相应的行业插件。",
        field="category",
        category=code,
    )


async def form_schema(scope: Scope, tenant: TenantInfo, code: str) -> list[dict[str, Any]]:
    """The category's form fields (Open311-attribute shaped), in order."""
    item = await category(scope, tenant, code)
    rt = scope.rt
    host = _host(rt)
    if host is None or item["plugin"] is None:
        return []
    fields: list[dict[str, Any]] = []
    for name, result in await host.call(rt, tenant, "xinfang_form_schema", category=code):
        if name == item["plugin"]:
            fields.extend(dict(f) for f in result)  # never mutate the plugin's own dicts
    pii = await pii_fields(scope, tenant)
    for order, f in enumerate(fields, start=1):
        f.setdefault("order", order)
        f.setdefault("required", False)
        f.setdefault("datatype", "string")
        f["pii"] = f["code"] in pii
    return fields


def _fail(code: str, message: str, name: str) -> InvalidInput:
    return InvalidInput(code, message, field=f"form.{name}")


def validate_by_schema(schema: list[dict[str, Any]], form: dict[str, Any]) -> dict[str, Any]:
    """Generic check of form data against its schema: unknown fields, required fields,
    types, choices, number ranges and patterns. Returns the normalised form."""
    known = {f["code"]: f for f in schema}
    for key in form:
        if key not in known:
            raise _fail("unknown_form_field", f"表单中没有“{key}”这一项。", key)
    out: dict[str, Any] = {}
    for f in schema:
        name, label = f["code"], f.get("description", f["code"])
        value = form.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if f.get("required"):
                raise _fail("form_field_required", f"请填写“{label}”。", name)
            continue
        kind = f.get("datatype", "string")
        if kind == "number":
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise _fail("form_field_number", f"“{label}”应为数字。", name) from None
            if "min" in f and number < f["min"]:
                raise _fail("form_field_range", f"“{label}”不能小于 {f['min']}。", name)
            if "max" in f and number > f["max"]:
                raise _fail("form_field_range", f"“{label}”不能大于 {f['max']}。", name)
            value = int(number) if number.is_integer() and f.get("integer") else number
        elif kind == "boolean":
            if isinstance(value, str):
                value = value.lower() in ("1", "true", "yes", "on", "是")
            value = bool(value)
        elif kind == "datetime":
            try:
                date.fromisoformat(str(value)[:10])
            except ValueError:
                raise _fail(
                    "form_field_date", f"“{label}”应为日期，例如 2026-11-23。", name
                ) from None
            value = str(value)
        elif kind in ("singlevaluelist", "multivaluelist"):
            keys = {str(v["key"]) for v in f.get("values", [])}
            items = value if isinstance(value, list) else [value]
            if kind == "singlevaluelist" and len(items) != 1:
                raise _fail("form_field_choice", f"“{label}”只能选择一项。", name)
            for item in items:
                if str(item) not in keys:
                    raise _fail(
                        "form_field_choice",
                        f"“{label}”的取值不在可选范围内（{'、'.join(sorted(keys))}）。",
                        name,
                    )
            value = str(items[0]) if kind == "singlevaluelist" else [str(i) for i in items]
        else:
            if not isinstance(value, str | int | float):
                raise _fail("form_field_text", f"“{label}”应为文字。", name)
            value = str(value)
            if len(value) > f.get("max_length", _MAX_FIELD_TEXT):
                raise _fail("form_field_too_long", f"“{label}”过长。", name)
            if "pattern" in f and not re.fullmatch(f["pattern"], value):
                hint = f.get("datatype_description", "")
                raise _fail("form_field_format", f"“{label}”格式不正确。{hint}", name)
        out[name] = value
    return out


async def validate_form(
    scope: Scope, tenant: TenantInfo, code: str, form: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Check the form of a category: the schema first, then the owning plugin's rules.
    Returns the normalised form and the owning plugin."""
    item = await category(scope, tenant, code)
    owner = item["plugin"]
    rt = scope.rt
    host = _host(rt)
    if owner is None or host is None:
        if form:
            raise InvalidInput(
                "form_not_expected", f"类别“{item['title_zh']}”没有附加表单。", field="form"
            )
        return {}, None
    clean = validate_by_schema(await form_schema(scope, tenant, code), form)
    for name, result in await host.call(
        rt, tenant, "xinfang_validate_form", category=code, form=clean
    ):
        if name == owner:
            clean = result
    return clean, owner


async def prepare_case(scope: Scope, tenant: TenantInfo, data: CaseIn) -> Prepared:
    """Validate the sector form and route the case; runs inside the registration
    transaction, before anything is written."""
    form, owner = await validate_form(scope, tenant, data.category, dict(data.form))
    prepared = Prepared(form=form, plugin=owner)
    rt = scope.rt
    host = _host(rt)
    if host is None:
        return prepared
    for _, route in await host.call(
        rt, tenant, "xinfang_route_case", data=data, form=form, actor=scope.actor
    ):
        if route.get("department_code") and prepared.department_code is None:
            prepared.department_code = route["department_code"]
        urgency = route.get("urgency")
        if urgency in URGENCY_ORDER and URGENCY_ORDER.index(urgency) > URGENCY_ORDER.index(
            prepared.urgency
        ):
            prepared.urgency = urgency
        prepared.flags.update(route.get("flags") or {})
        for key, values in (route.get("accused") or {}).items():
            merged = prepared.accused.setdefault(key, [])
            merged.extend(v for v in values if v not in merged)
        if route.get("redirect") and prepared.redirect is None:
            prepared.redirect = route["redirect"]
    return prepared


async def case_event(
    scope: Scope, tenant: TenantInfo, case: dict[str, Any], kind: str, data: dict[str, Any]
) -> None:
    """Let plugins react to a recorded case event (inside the same transaction)."""
    rt = scope.rt
    host = _host(rt)
    if host is not None and tenant.plugins:
        await host.call(rt, tenant, "xinfang_case_event", case=case, kind=kind, data=data)


async def before_transition(
    scope: Scope, tenant: TenantInfo, case: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    """Let plugins refuse a lifecycle step (raise a DomainError), e.g. police: the
    result must be told to the complainant before closing."""
    rt = scope.rt
    host = _host(rt)
    if host is not None and tenant.plugins:
        await host.call(
            rt, tenant, "xinfang_before_transition", case=case, action=action, payload=payload
        )


def extra_clocks(scope: Scope, tenant: TenantInfo) -> dict[str, Any]:
    """Sector clocks (``core.domain.rulepacks.ClockRule`` by name) added to the tenant's
    rule pack, e.g. court: retrial petition, execution objection."""
    rt = scope.rt
    host = _host(rt)
    clocks: dict[str, Any] = {}
    if host is None or not tenant.plugins:
        return clocks
    for _, result in host.call_sync(rt, tenant, "xinfang_extra_clocks"):
        clocks.update(result)
    return clocks


async def collect(scope: Scope, tenant: TenantInfo, hook: str) -> list[dict[str, Any]]:
    """The concatenated list results of a list-valued hook (rota templates, documents,
    report sections, notification channels), each tagged with its plugin."""
    rt = scope.rt
    host = _host(rt)
    if host is None or not tenant.plugins:
        return []
    return [
        {**item, "plugin": name}
        for name, items in await host.call(rt, tenant, hook)
        for item in items
    ]


async def pii_fields(scope: Scope, tenant: TenantInfo) -> set[str]:
    """Form fields holding personal data (never shown publicly, e.g. via Open311)."""
    rt = scope.rt
    host = _host(rt)
    if host is None or not tenant.plugins:
        return set()
    return {f for _, fields in await host.call(rt, tenant, "xinfang_pii_fields") for f in fields}


def mask_value(value: Any) -> str:
    """Keep the first and last character of longer values: ``HX-20331`` → ``H******1``."""
    text = str(value)
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


async def mask_form(scope: Scope, tenant: TenantInfo, form: dict[str, Any]) -> dict[str, Any]:
    """The form with the plugins' PII fields masked — for lists, exports and reports."""
    pii = await pii_fields(scope, tenant)
    return {k: (mask_value(v) if k in pii and v not in (None, "") else v) for k, v in form.items()}


SEALED = "_sealed"


async def seal_form(scope: Scope, tenant: TenantInfo, form: dict[str, Any]) -> dict[str, Any]:
    """The form as stored: the plugins' PII fields encrypted under ``_sealed`` (AES-GCM,
    the field name as context) and only their masked value in clear."""
    import json

    pii = await pii_fields(scope, tenant)
    out = dict(form)
    sealed: dict[str, str] = {}
    for key in sorted(pii & set(form)):
        value = form[key]
        if value in (None, ""):
            continue
        sealed[key] = scope.rt.keys.encrypt(
            json.dumps(value, ensure_ascii=False), context=f"form.{key}"
        )
        out[key] = mask_value(value)
    if sealed:
        out[SEALED] = sealed
    return out


async def reveal_form(scope: Scope, case_id: int, form: dict[str, Any] | None) -> dict[str, Any]:
    """``unseal_form`` for showing the case to the acting person, audited
    (``reveal.case_form``) each time sealed fields are shown in clear."""
    sealed = sorted((form or {}).get(SEALED) or {})
    out = unseal_form(scope, form)
    if sealed:
        await audit.record_reveal(scope, f"case:{case_id}", sealed, action="reveal.case_form")
    return out


def unseal_form(scope: Scope, form: dict[str, Any] | None) -> dict[str, Any]:
    """The stored form with its sealed fields decrypted (for staff who may open the case)."""
    import json

    out = dict(form or {})
    for key, token in (out.pop(SEALED, None) or {}).items():
        out[key] = json.loads(scope.rt.keys.decrypt(token, context=f"form.{key}"))
    return out
