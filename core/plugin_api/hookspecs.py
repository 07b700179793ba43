"""Every plugin hook. Each has a one-line docstring; ``docs/plugins.md`` documents each.

Hooks take keyword arguments only. ``tenant`` is a :class:`TenantInfo`; a hook is only
ever called for tenants that enabled the plugin implementing it. Implementations may be
plain functions or ``async def`` (awaited by the caller). ``ctx`` is a
:class:`HookContext` (clock, the plugin's settings, facades onto core). Hooks marked
*global* are called once per process for every installed plugin. What a hook returns is
converted into the return type declared here (``msgspec.convert``): a malformed return
fails as ``plugin_failed`` naming the plugin.
"""

from __future__ import annotations

from typing import Any

import pluggy

from core.domain.rulepacks import ClockRule
from core.plugin_api.context import Actor, CaseDraft, HookContext
from core.plugin_api.forms import FormField
from core.plugin_api.types import (
    Category,
    Document,
    NotificationChannel,
    PluginInfo,
    ReportSection,
    RotaTemplate,
    Route,
    TenantInfo,
)

__all__ = [
    "PROJECT",
    "hookimpl",
    "hookspec",
    "xinfang_before_transition",
    "xinfang_case_event",
    "xinfang_categories",
    "xinfang_default_config",
    "xinfang_documents",
    "xinfang_extra_clocks",
    "xinfang_form_schema",
    "xinfang_notification_channels",
    "xinfang_notify",
    "xinfang_pii_fields",
    "xinfang_plugin_info",
    "xinfang_report_sections",
    "xinfang_rota_templates",
    "xinfang_route_case",
    "xinfang_routes",
    "xinfang_tables",
    "xinfang_validate_config",
    "xinfang_validate_form",
]

PROJECT = "xinfang"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def xinfang_plugin_info() -> PluginInfo:  # type: ignore[empty-body]
    """Describe the plugin: name, title_zh, version, description (global)."""


@hookspec
def xinfang_default_config() -> dict[str, Any]:  # type: ignore[empty-body]
    """Default per-tenant settings of the plugin; a tenant's settings override them (global)."""


@hookspec
def xinfang_validate_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """Check a tenant's new plugin settings (raise InvalidInput) and return them normalised."""


@hookspec
def xinfang_categories(tenant: TenantInfo, ctx: HookContext) -> list[Category]:  # type: ignore[empty-body]
    """Case categories the plugin adds for this tenant (code, title_zh, group, description)."""


@hookspec
def xinfang_form_schema(
    tenant: TenantInfo, ctx: HookContext, category: str
) -> list[FormField] | None:
    """Form fields of a category, shaped like Open311 attributes (code, datatype, required…)."""


@hookspec
def xinfang_validate_form(
    tenant: TenantInfo, ctx: HookContext, category: str, form: dict[str, Any]
) -> dict[str, Any] | None:
    """Validate a category's form data (raise InvalidInput) and return it normalised."""


@hookspec
def xinfang_route_case(
    tenant: TenantInfo, ctx: HookContext, data: CaseDraft, form: dict[str, Any], actor: Actor
) -> Route | None:
    """Route a new case: department_code, urgency, flags, accused, redirect (诉访分离)."""


@hookspec
def xinfang_extra_clocks(tenant: TenantInfo, ctx: HookContext) -> dict[str, ClockRule] | None:
    """Sector deadline clocks (``ClockRule`` by name) added to the tenant's rule pack."""


@hookspec
def xinfang_case_event(
    tenant: TenantInfo, ctx: HookContext, case: dict[str, Any], kind: str, data: dict[str, Any]
) -> None:
    """React to a recorded case event, inside the same transaction (e.g. link incidents)."""


@hookspec
def xinfang_before_transition(
    tenant: TenantInfo, ctx: HookContext, case: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    """Refuse a lifecycle step by raising a DomainError (e.g. a required step is missing)."""


@hookspec
def xinfang_rota_templates(tenant: TenantInfo, ctx: HookContext) -> list[RotaTemplate]:  # type: ignore[empty-body]
    """Reception rota templates the sector uses (e.g. the court's 四接访)."""


@hookspec
def xinfang_documents(tenant: TenantInfo, ctx: HookContext) -> list[Document]:  # type: ignore[empty-body]
    """Documents (notices, 告知书) the sector needs: code, title_zh, template text."""


@hookspec
def xinfang_report_sections(tenant: TenantInfo, ctx: HookContext) -> list[ReportSection]:  # type: ignore[empty-body]
    """Extra report sections: code, title_zh and the case categories they count."""


@hookspec
def xinfang_pii_fields(tenant: TenantInfo, ctx: HookContext) -> list[str]:  # type: ignore[empty-body]
    """Form field codes holding personal data: never shown publicly or logged."""


@hookspec
def xinfang_routes() -> list[Any]:  # type: ignore[empty-body]
    """Litestar route handlers mounted at /api/v1/plugins/<name>/ (global; 404 when off)."""


@hookspec
def xinfang_tables() -> list[Any]:  # type: ignore[empty-body]
    """Piccolo tables of the plugin, bound to the core engine (global)."""


@hookspec
def xinfang_notification_channels(  # type: ignore[empty-body]
    tenant: TenantInfo, ctx: HookContext
) -> list[NotificationChannel]:
    """Notification channels the plugin delivers through (code, title_zh)."""


@hookspec
def xinfang_notify(
    tenant: TenantInfo,
    ctx: HookContext,
    channel: str,
    recipient: dict[str, Any],
    message: dict[str, Any],
) -> bool | None:
    """Deliver a notification through a plugin channel (SMS, WeCom); True when handled."""
