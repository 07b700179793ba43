"""What a plugin's own routes (``xinfang_routes``) use.

Routes are mounted at ``/api/v1/plugins/<name>/`` behind staff authentication and a
guard answering ``404 plugin_not_enabled`` for tenants without the plugin. A handler
that declares ``ctx: RouteContext`` gets the plugin's context for the caller's tenant,
acting as the caller (``ctx.actor``; ``ctx.cases`` answers 404 for a case hidden from
them, ``ctx.events.record`` records them as the actor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.di import Dependency
from litestar.handlers.base import BaseRouteHandler

from core.errors import PermissionDenied
from core.plugin_api.context import HookContext
from core.principal import ROLE_NAMES_ZH

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]
RouteContext = Annotated[HookContext, Dependency(kind="named")]
"""``ctx: RouteContext`` in a plugin route handler: the dependency the host provides."""


def requires(*roles: str) -> Guard:
    """Guard: the caller must hold one of ``roles`` (``403 role_required``). The one role
    guard: core's routes use it too (``core.web.auth`` re-exports it)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # a CORS preflight carries no credentials; Litestar answers it
        if not connection.user.has_any(*roles):
            names = "、".join(ROLE_NAMES_ZH[r] for r in roles)
            raise PermissionDenied(
                "role_required", f"此操作需要以下角色之一：{names}。", required=list(roles)
            )

    guard.__name__ = f"requires_{'_or_'.join(roles)}"
    return guard
