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
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import Struct

from core.errors import NotFound
from core.plugin_api import HookContext
from core.runtime import Runtime
from core.services import hookctx, plugin_admin, sector, tenants
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
    async def list_plugins(self, sc: CallerScope) -> list[dict[str, Any]]:
        return await plugin_admin.list_plugins(sc)

    @put("/{name:str}", guards=[requires_admin])
    async def configure(
        self, sc: CallerScope, name: CodeParam, data: JSONBody[PluginIn]
    ) -> dict[str, Any]:
        return await plugin_admin.configure(sc, name, enabled=data.enabled, config=data.config)


class CategoryController(Controller):
    path = "/categories"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_categories(self, sc: CallerScope) -> list[dict[str, Any]]:
        return await sector.categories(sc, await tenants.get_tenant(sc))

    @get("/{code:str}/form")
    async def form(self, sc: CallerScope, code: CodeParam) -> dict[str, Any]:
        tenant = await tenants.get_tenant(sc)
        item = await sector.category(sc, tenant, code)
        return {**item, "fields": await sector.form_schema(sc, tenant, code)}


_SECTOR_LISTS = {
    "rota-templates": "xinfang_rota_templates",
    "documents": "xinfang_documents",
    "report-sections": "xinfang_report_sections",
    "notification-channels": "xinfang_notification_channels",
}


@get("/sector/{kind:str}", guards=[requires_staff])
async def sector_list(sc: CallerScope, kind: FromPath[str]) -> list[dict[str, Any]]:
    """行业插件提供的轮值模板、文书、报表栏目、通知渠道。"""
    hook = _SECTOR_LISTS.get(kind)
    if hook is None:
        raise NotFound("not_found", "没有这一类插件资料。")
    return await sector.collect(sc, await tenants.get_tenant(sc), hook)


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
        route_handlers=[PluginController, CategoryController, sector_list],
        tags=["plugins"],
    )
