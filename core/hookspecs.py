"""Every plugin hook. Each has a one-line docstring; ``docs/plugins.md`` documents each.

Hooks take keyword arguments only. ``tenant`` is a :class:`core.plugins.TenantInfo`;
a hook is only ever called for tenants that enabled the plugin implementing it.
Implementations may be plain functions or ``async def`` (awaited by the caller).
``ctx`` is a :class:`core.plugins.HookContext` (runtime, clock, the plugin's settings).
Hooks marked *global* are called once per process for every installed plugin.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("xinfang")
hookimpl = pluggy.HookimplMarker("xinfang")


@hookspec
def xinfang_plugin_info() -> dict[str, Any]:  # type: ignore[empty-body]
    """Describe the plugin: name, title_zh, version, description (global)."""


@hookspec
def xinfang_default_config() -> dict[str, Any]:  # type: ignore[empty-body]
    """Default per-tenant settings of the plugin; a tenant's settings override them (global)."""


@hookspec
def xinfang_validate_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """Check a tenant's new plugin settings (raise InvalidInput) and return them normalised."""


@hookspec
def xinfang_categories(tenant: Any, ctx: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Case categories the plugin adds for this tenant (code, title_zh, group, description)."""


@hookspec
def xinfang_form_schema(tenant: Any, ctx: Any, category: str) -> list[dict[str, Any]] | None:
    """Form fields of a category, shaped like Open311 attributes (code, datatype, required…)."""


@hookspec
def xinfang_validate_form(
    tenant: Any, ctx: Any, category: str, form: dict[str, Any]
) -> dict[str, Any] | None:
    """Validate a category's form data (raise InvalidInput) and return it normalised."""


@hookspec
def xinfang_route_case(
    tenant: Any, ctx: Any, data: Any, form: dict[str, Any], actor: Any
) -> dict[str, Any] | None:
    """Route a new case: department_code, urgency, flags, accused, redirect (诉访分离)."""


@hookspec
def xinfang_extra_clocks(tenant: Any, ctx: Any) -> dict[str, Any] | None:
    """Sector deadline clocks (``ClockRule`` by name) added to the tenant's rule pack."""


@hookspec
def xinfang_case_event(
    tenant: Any, ctx: Any, case: dict[str, Any], kind: str, data: dict[str, Any]
) -> None:
    """React to a recorded case event, inside the same transaction (e.g. link incidents)."""


@hookspec
def xinfang_before_transition(
    tenant: Any, ctx: Any, case: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    """Refuse a lifecycle step by raising a DomainError (e.g. a required step is missing)."""


@hookspec
def xinfang_rota_templates(tenant: Any, ctx: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Reception rota templates the sector uses (e.g. the court's 四接访)."""


@hookspec
def xinfang_documents(tenant: Any, ctx: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Documents (notices, 告知书) the sector needs: code, title_zh, template text."""


@hookspec
def xinfang_report_sections(tenant: Any, ctx: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Extra report sections: code, title_zh and the case categories they count."""


@hookspec
def xinfang_pii_fields(tenant: Any, ctx: Any) -> list[str]:  # type: ignore[empty-body]
    """Form field codes holding personal data: never shown publicly or logged."""


@hookspec
def xinfang_routes() -> list[Any]:  # type: ignore[empty-body]
    """Litestar route handlers mounted at /api/v1/plugins/<name>/ (global; 404 when off)."""


@hookspec
def xinfang_tables() -> list[Any]:  # type: ignore[empty-body]
    """Piccolo tables of the plugin, bound to the core engine (global)."""


@hookspec
def xinfang_notification_channels(tenant: Any, ctx: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Notification channels the plugin delivers through (code, title_zh)."""


@hookspec
def xinfang_notify(
    tenant: Any, channel: str, recipient: dict[str, Any], message: dict[str, Any]
) -> bool | None:
    """Deliver a notification through a plugin channel (SMS, WeCom); True when handled."""
