"""Plugin administration, sector metadata and the plugins' own routes under /api/v1.

Plugin routes (``xinfang_routes``) are mounted once at start-up under
``/api/v1/plugins/<name>/`` with a guard that answers 404 “此功能未启用” for a tenant
that has not enabled the plugin — checked at call time, in one place — and the
dependency ``ctx``: the plugin's ``HookContext`` for the caller's tenant, its facades
acting as the caller (``core.services.hookctx``).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Router, get, put
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody, Parameter
from msgspec import Struct, structs

from core.errors import NotFound
from core.plugin_api import HookContext
from core.runtime import Runtime
from core.services import hookctx, plugin_admin, sector, tenants
from core.services.answers import (
    CategoryForm,
    CategoryOut,
    DocumentOut,
    NotificationChannelOut,
    PluginOut,
    ReportSectionOut,
    RotaTemplateOut,
)
from core.services.scope import Scope
from core.web.auth import CallerScope, principal_of, requires_admin, requires_staff, runtime_of

CodeParam = Annotated[str, Parameter(max_length=63, pattern=r"^[A-Za-z0-9_.-]+$")]


class PluginIn(Struct, forbid_unknown_fields=True):
    enabled: bool | None = None
    config: dict[str, Any] | None = None


class PluginController(Controller):
    path = "/admin/plugins"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_plugins(self, sc: CallerScope) -> list[PluginOut]:
        return await plugin_admin.list_plugins(sc)

    @put("/{name:str}", guards=[requires_admin])
    async def configure(
        self, sc: CallerScope, name: CodeParam, data: JSONBody[PluginIn]
    ) -> PluginOut:
        return await plugin_admin.configure(sc, name, enabled=data.enabled, config=data.config)


class CategoryController(Controller):
    path = "/categories"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_categories(self, sc: CallerScope) -> list[CategoryOut]:
        return await sector.categories(sc, await tenants.get_tenant(sc))

    @get("/{code:str}/form")
    async def form(self, sc: CallerScope, code: CodeParam) -> CategoryForm:
        tenant = await tenants.get_tenant(sc)
        item = await sector.category(sc, tenant, code)
        fields = await sector.form_schema(sc, tenant, code)
        return CategoryForm(**structs.asdict(item), fields=fields)


# The sector lists, one route each so each documents its own body (static paths win
# over ``/sector/{kind}``, which is left to answer 404 for any other kind).


class SectorController(Controller):
    path = "/sector"
    guards = [requires_staff]  # noqa: RUF012

    @get("/rota-templates")
    async def rota_templates(self, sc: CallerScope) -> list[RotaTemplateOut]:
        """行业插件提供的轮值模板。"""
        return await sector.rota_templates(sc, await tenants.get_tenant(sc))

    @get("/documents")
    async def documents(self, sc: CallerScope) -> list[DocumentOut]:
        """行业插件提供的文书。"""
        return await sector.documents(sc, await tenants.get_tenant(sc))

    @get("/report-sections")
    async def report_sections(self, sc: CallerScope) -> list[ReportSectionOut]:
        """行业插件提供的报表栏目。"""
        return await sector.report_sections(sc, await tenants.get_tenant(sc))

    @get("/notification-channels")
    async def notification_channels(self, sc: CallerScope) -> list[NotificationChannelOut]:
        """行业插件提供的通知渠道。"""
        return await sector.notification_channels(sc, await tenants.get_tenant(sc))

    @get("/{kind:str}", include_in_schema=False)
    async def unknown_kind(self) -> None:
        raise NotFound("not_found", "没有这一类插件资料。")


def plugin_enabled(name: str) -> Any:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal is None:
            return
        # A guard gets no dependencies: the scope is built here, as provide_scope does.
        tenant = await tenants.get_tenant(Scope.of(runtime_of(connection), principal))
        if name not in tenant.plugins:
            raise NotFound("plugin_not_enabled", "此功能未启用。", plugin=name)

    guard.__name__ = f"plugin_enabled_{name}"
    return guard


def plugin_context(name: str) -> Any:
    """The dependency ``ctx`` of plugin ``name``'s routes: its facades act as the caller."""

    async def provide(sc: CallerScope) -> HookContext:
        assert sc.rt.plugins is not None  # routes are mounted only from a plugin host
        tenant = await tenants.get_tenant(sc)
        return sc.rt.plugins.context(
            sc.rt, tenant, name, facades=hookctx.facades(sc, tenant), actor=sc.actor
        )

    return Provide(provide)


def plugin_routers(rt: Runtime) -> list[Router]:
    """One router per installed plugin that declares routes."""
    if rt.plugins is None:
        return []
    return [
        Router(
            path=f"/api/v1/plugins/{name}",
            route_handlers=list(handlers),
            guards=[requires_staff, plugin_enabled(name)],
            dependencies={"ctx": plugin_context(name)},
            tags=[f"plugin:{name}"],
        )
        for name, handlers in rt.plugins.call_global("xinfang_routes")
        if handlers
    ]


def plugin_api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[PluginController, CategoryController, SectorController],
        tags=["plugins"],
    )
