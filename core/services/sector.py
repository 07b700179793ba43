"""The seam between the case services and the tenant's sector plugins.

The case services call these functions at fixed points; they call the tenant's enabled
plugins' hooks and turn a plugin's exception into a clear error naming the plugin. A
tenant without plugins gets the plain core behaviour.

Each takes the scope and the tenant's ``TenantInfo`` (which plugins, their settings),
read once by the operation that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, Struct, structs

from core.builtin_plugins import categories as builtin_categories
from core.errors import InvalidInput
from core.plugin_api import URGENCY_ORDER, FormField, Route, TenantInfo, clean_form
from core.schemas import CaseIn
from core.services import audit
from core.services.answers import (
    CategoryOut,
    DocumentOut,
    FormFieldOut,
    NotificationChannelOut,
    ReportSectionOut,
    RotaTemplateOut,
)
from core.services.scope import Scope

__all__ = ["URGENCY_ORDER", "Prepared", "validate_by_schema"]

Tagged = TypeVar("Tagged", bound=Struct)


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

    def merge(self, route: Route) -> None:
        """Take in one plugin's routing: the first department and redirect win, the
        highest urgency wins, flags and accused lists are merged."""
        if route.department_code and self.department_code is None:
            self.department_code = route.department_code
        if route.urgency and URGENCY_ORDER.index(route.urgency) > URGENCY_ORDER.index(self.urgency):
            self.urgency = route.urgency
        self.flags.update(route.flags)
        if route.accused is not None:
            for key, values in msgspec.to_builtins(route.accused).items():  # keys given only
                merged = self.accused.setdefault(key, [])
                merged.extend(v for v in values if v not in merged)
        if route.redirect is not None and self.redirect is None:
            self.redirect = msgspec.to_builtins(route.redirect)


async def _call(
    scope: Scope, tenant: TenantInfo, hook: str, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call a tenant hook with its facades (``ctx``); no plugins host: no answers. The
    facades act as the system for the tenant, not as the caller (only a plugin route's
    facades act as its caller)."""
    from core.services import hookctx

    rt = scope.rt
    if rt.plugins is None:
        return []
    facades = hookctx.facades(Scope.system(rt, tenant.id, tenant.slug), tenant)
    return await rt.plugins.call(rt, tenant, hook, facades=facades, **kwargs)


async def categories(scope: Scope, tenant: TenantInfo) -> list[CategoryOut]:
    """Every case category available to the tenant: core's first, then its plugins'
    (a code already taken is skipped)."""
    host = scope.rt.plugins
    if host is None:
        results = [("core", builtin_categories.xinfang_categories())]
    else:  # core's built-in list is called last (the fallback) but listed first
        called = await _call(scope, tenant, "xinfang_categories")
        results = sorted(called, key=lambda r: not host.is_builtin(r[0]))
    out: list[CategoryOut] = []
    seen: set[str] = set()
    for name, items in results:
        plugin = None if host is None or host.is_builtin(name) else name
        for item in items:
            if item.code not in seen:
                seen.add(item.code)
                out.append(CategoryOut(**structs.asdict(item), plugin=plugin))
    return out


async def category(scope: Scope, tenant: TenantInfo, code: str) -> CategoryOut:
    """One of the tenant's categories, or ``unknown_category``."""
    for item in await categories(scope, tenant):
        if item.code == code:
            return item
    raise InvalidInput(
        "unknown_category",
        f"类别 {code} 不存在或本机构未启用相应的行业插件。",
        field="category",
        category=code,
    )


async def _fields(scope: Scope, tenant: TenantInfo, item: CategoryOut) -> list[FormField]:
    """The form fields the plugin owning the category gives it."""
    if item.plugin is None:
        return []
    return [
        f
        for name, result in await _call(scope, tenant, "xinfang_form_schema", category=item.code)
        if name == item.plugin
        for f in result
    ]


async def form_schema(scope: Scope, tenant: TenantInfo, code: str) -> list[FormFieldOut]:
    """The category's form fields (Open311-attribute shaped), in order; keys the plugin
    left out stay out, but for ``order`` (its place when not given)."""
    fields = await _fields(scope, tenant, await category(scope, tenant, code))
    pii = await pii_fields(scope, tenant) if fields else set()
    out = []
    for order, f in enumerate(fields, start=1):
        shown = structs.asdict(f)
        if shown["order"] is UNSET:
            shown["order"] = order
        out.append(FormFieldOut(**shown, pii=f.code in pii))
    return out


def validate_by_schema(schema: list[FormField], form: dict[str, Any]) -> dict[str, Any]:
    """Generic check of form data against its fields (:func:`core.plugin_api.clean_form`)."""
    return clean_form(schema, form)


async def validate_form(
    scope: Scope, tenant: TenantInfo, code: str, form: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Check the form of a category: the schema first, then the owning plugin's rules.
    Returns the normalised form and the owning plugin."""
    item = await category(scope, tenant, code)
    owner = item.plugin
    if owner is None or scope.rt.plugins is None:
        if form:
            raise InvalidInput(
                "form_not_expected", f"类别“{item.title_zh}”没有附加表单。", field="form"
            )
        return {}, None
    clean = clean_form(await _fields(scope, tenant, item), form)
    for name, result in await _call(
        scope, tenant, "xinfang_validate_form", category=code, form=clean
    ):
        if name == owner:
            clean = result
    return clean, owner


async def prepare_case(scope: Scope, tenant: TenantInfo, data: CaseIn) -> Prepared:
    """Validate the sector form and route the case; runs inside the registration
    transaction, before anything is written."""
    form, owner = await validate_form(scope, tenant, data.category, dict(data.form))
    prepared = Prepared(form=form, plugin=owner)
    for _, route in await _call(
        scope, tenant, "xinfang_route_case", data=data, form=form, actor=scope.actor
    ):
        prepared.merge(route)
    return prepared


async def case_event(
    scope: Scope, tenant: TenantInfo, case: dict[str, Any], kind: str, data: dict[str, Any]
) -> None:
    """Let plugins react to a recorded case event (inside the same transaction)."""
    if tenant.plugins:
        await _call(scope, tenant, "xinfang_case_event", case=case, kind=kind, data=data)


async def before_transition(
    scope: Scope, tenant: TenantInfo, case: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    """Let plugins refuse a lifecycle step (raise a DomainError), e.g. police: the
    result must be told to the complainant before closing."""
    if tenant.plugins:
        await _call(
            scope, tenant, "xinfang_before_transition", case=case, action=action, payload=payload
        )


def extra_clocks(scope: Scope, tenant: TenantInfo) -> dict[str, Any]:
    """Sector clocks (``core.domain.rulepacks.ClockRule`` by name) added to the tenant's
    rule pack, e.g. court: retrial petition, execution objection."""
    rt = scope.rt
    host = rt.plugins
    clocks: dict[str, Any] = {}
    if host is None or not tenant.plugins:
        return clocks
    for _, result in host.call_sync(rt, tenant, "xinfang_extra_clocks"):
        clocks.update(result)
    return clocks


async def collect(
    scope: Scope, tenant: TenantInfo, hook: str, tagged: type[Tagged]
) -> list[Tagged]:
    """The concatenated list results of a list-valued hook (rota templates, documents,
    report sections, notification channels), each tagged with its plugin as ``tagged``
    (the hook's Struct plus ``plugin``)."""
    if not tenant.plugins:
        return []
    return [
        tagged(**structs.asdict(item), plugin=name)
        for name, items in await _call(scope, tenant, hook)
        for item in items
    ]


async def rota_templates(scope: Scope, tenant: TenantInfo) -> list[RotaTemplateOut]:
    return await collect(scope, tenant, "xinfang_rota_templates", RotaTemplateOut)


async def documents(scope: Scope, tenant: TenantInfo) -> list[DocumentOut]:
    return await collect(scope, tenant, "xinfang_documents", DocumentOut)


async def report_sections(scope: Scope, tenant: TenantInfo) -> list[ReportSectionOut]:
    return await collect(scope, tenant, "xinfang_report_sections", ReportSectionOut)


async def notification_channels(scope: Scope, tenant: TenantInfo) -> list[NotificationChannelOut]:
    return await collect(scope, tenant, "xinfang_notification_channels", NotificationChannelOut)


async def pii_fields(scope: Scope, tenant: TenantInfo) -> set[str]:
    """Form fields holding personal data (never shown publicly, e.g. via Open311)."""
    if not tenant.plugins:
        return set()
    return {f for _, fields in await _call(scope, tenant, "xinfang_pii_fields") for f in fields}


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
