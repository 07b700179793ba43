"""Who is calling: bearer API tokens or the staff session cookie, never a body field.

Unsafe API methods require a bearer token: the session cookie only authorizes page
forms (which carry a CSRF token) and safe API reads, so a cookie alone cannot be
replayed cross-site against the JSON API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig

from core.errors import NotAuthenticated, PermissionDenied
from core.principal import ROLE_NAMES_ZH, Principal
from core.runtime import Runtime
from core.services import audit, users

PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/schema",
    "/login",
    "/static",
    "/open311",
    "/t/",
    "/favicon.ico",
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class _SessionBackend(ClientSideSessionBackend):
    """A session cookie we cannot read (tampered, truncated, another key or version) is
    no session: the caller is simply not logged in and can log in again."""

    def load_data(self, data: list[bytes]) -> dict[str, Any]:
        try:
            loaded = super().load_data(data)
        except Exception:
            return {}
        return loaded if isinstance(loaded, dict) else {}


class SessionConfig(CookieBackendConfig):
    _backend_class = _SessionBackend


def _session_ids(session: Any) -> tuple[str, int, int] | None:
    """(tenant slug, tenant id, user id) of a well-formed staff session, else None."""
    if not isinstance(session, dict):
        return None
    slug, tenant_id, user_id = (session.get(k) for k in ("tenant_slug", "tenant_id", "user_id"))
    if isinstance(slug, str) and type(tenant_id) is int and type(user_id) is int:
        return slug, tenant_id, user_id
    return None


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    return connection.app.state.rt


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The audit log's "who" for this request: nobody until authenticated.
        token = audit.set_actor(audit.SYSTEM)
        try:
            await super().__call__(scope, receive, send)
        finally:
            audit.reset_actor(token)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        rt = runtime_of(connection)
        header = connection.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthenticated("token_invalid", "Authorization 头应为 “Bearer <令牌>”。")
            principal = await users.authenticate_token(rt, token.strip())
            audit.set_actor(audit.actor_of(principal))
            return AuthenticationResult(user=principal, auth="token")
        ids = _session_ids(connection.scope.get("session"))
        if ids is not None:
            is_api = connection.url.path.startswith("/api/")
            if is_api and connection.scope.get("method", "GET") not in SAFE_METHODS:
                raise NotAuthenticated(
                    "token_required", "写入类 API 请求需要 Bearer 令牌（网页表单请使用页面提交）。"
                )
            principal = await users.principal_for(rt, *ids)
            audit.set_actor(audit.actor_of(principal))
            return AuthenticationResult(user=principal, auth="session")
        raise NotAuthenticated("not_authenticated", "请先登录，或在请求中提供 API 令牌。")


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The authenticated caller; None only for OPTIONS, which is never authenticated
    (a CORS preflight carries no credentials)."""
    if connection.scope.get("method") == "OPTIONS":
        return None
    principal: Principal = connection.user
    return principal


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """Guard: the caller must hold one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal is None:
            return  # OPTIONS: Litestar answers it (204 + Allow); nothing is read or done
        if not principal.has_any(*roles):
            names = "、".join(ROLE_NAMES_ZH[r] for r in roles)
            raise PermissionDenied(
                "role_required", f"此操作需要以下角色之一：{names}。", required=list(roles)
            )

    guard.__name__ = f"requires_{'_or_'.join(roles)}"
    return guard


STAFF = ("admin", "clerk", "leader", "handler", "supervisor")
requires_staff = requires(*STAFF)
requires_admin = requires("admin")
requires_registrar = requires("clerk", "supervisor", "admin")
requires_scheduler = requires("admin", "supervisor")
