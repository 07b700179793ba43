"""Who is calling: bearer API tokens or the staff session cookie, never a body field.

Unsafe API methods require a bearer token: the session cookie only authorizes page
forms (which carry a CSRF token) and safe API reads, so a cookie alone cannot be
replayed cross-site against the JSON API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.di import NamedDependency
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.params import SkipValidation
from litestar.stores.base import Store
from litestar.types import Message, ScopeSession

from core.errors import NotAuthenticated
from core.plugin_api.web import requires as requires  # one role guard, core's and plugins'
from core.principal import Principal
from core.runtime import Runtime
from core.services import audit, logins, users
from core.services.scope import Scope

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


def _session_ids(session: Any) -> tuple[str, int, int] | None:
    """(tenant slug, tenant id, user id) of a well-formed staff session, else None."""
    if not isinstance(session, dict):
        return None
    slug, tenant_id, user_id = (session.get(k) for k in ("tenant_slug", "tenant_id", "user_id"))
    if isinstance(slug, str) and type(tenant_id) is int and type(user_id) is int:
        return slug, tenant_id, user_id
    return None


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    rt: Runtime = connection.app.state.rt
    return rt


_LOADED = "xinfang.session"  # scope key: (id, data) of the session the request arrived with


def _staff_session(data: Any) -> dict[str, Any] | None:
    """A stored session of the shape we write, else None."""
    if not isinstance(data, dict):
        return None
    ok = (
        isinstance(data.get("tenant_slug"), str)
        and type(data.get("tenant_id")) is int
        and type(data.get("user_id")) is int
        and isinstance(data.get("exp"), int | float)
    )
    return data if ok else None


class StaffSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions with what it leaves out: an absolute lifetime
    (``exp`` fixed at login, never renewed by use; the cookie is set once), a new id on
    every login (no fixation), nothing stored for anonymous visitors, and any cookie we
    cannot use (malformed, unknown, expired) read as no session."""

    config: StaffSessionConfig

    def _cookie_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        value = connection.cookies.get(self.config.key) or ""
        return value if logins.SESSION_ID.fullmatch(value) else None

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        return self._cookie_id(connection) or ""

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        session_id = self._cookie_id(connection)
        if session_id is None:
            return {}
        raw = await self.config.get_store_from_app(connection.app).get(session_id)
        try:
            data = _staff_session(self.deserialize_data(raw)) if raw else None
        except Exception:  # unreadable stored value: no session
            data = None
        if data is None or data["exp"] <= runtime_of(connection).clock.now().timestamp():
            return {}
        connection.scope[_LOADED] = (session_id, dict(data))  # type: ignore[literal-required]
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        arrived: tuple[str, dict[str, Any]] | None = connection.scope.get(_LOADED)  # type: ignore[assignment]
        loaded_id, loaded = arrived if arrived else (None, None)
        if loaded is not None and scope_session == loaded:
            return  # unchanged: no write, no new cookie
        rt = runtime_of(connection)
        if loaded_id is not None and loaded is not None:  # logout, or a new login
            await logins.forget(rt, loaded_id, loaded["tenant_id"], loaded["user_id"])
        headers = MutableScopeHeaders.from_message(message)
        now = rt.clock.now().timestamp()
        data: dict[str, Any] = (
            dict(scope_session) if isinstance(scope_session, dict) and scope_session else {}
        )
        data.setdefault("exp", now + self.config.max_age)
        ttl = int(data["exp"] - now)
        if not (data.keys() - {"exp"}) or ttl <= 0:
            if self.config.key in connection.cookies:
                headers.add("Set-Cookie", self._cookie("", 0).to_header(header=""))
            return
        session_id = secrets.token_urlsafe(32)
        store = self.config.get_store_from_app(connection.app)
        await store.set(session_id, self.serialize_data(data, connection.scope), expires_in=ttl)
        if type(data.get("tenant_id")) is int and type(data.get("user_id")) is int:
            await logins.remember(rt, session_id, data["tenant_id"], data["user_id"])
        headers.add("Set-Cookie", self._cookie(session_id, ttl).to_header(header=""))

    def _cookie(self, value: str, max_age: int) -> Cookie:
        c = self.config
        return Cookie(
            key=c.key,
            value=value,
            max_age=max_age,
            expires=0 if not max_age else None,
            path=c.path,
            domain=c.domain,
            secure=c.secure,
            httponly=c.httponly,
            samesite=c.samesite,
        )


@dataclass
class StaffSessionConfig(ServerSideSessionConfig):
    _backend_class = StaffSessionBackend

    def get_store_from_app(self, app: Any) -> Store:
        # Follows rt.redis, which the lifespan connects after the app is built.
        return logins.store(app.state.rt.redis)


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
            slug, tenant_id, user_id = ids
            principal = await users.principal_for(Scope.system(rt, tenant_id, slug), user_id)
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


async def provide_scope(request: Request[Any, Any, Any]) -> Scope:
    """Litestar dependency ``sc`` (``scope`` is the ASGI scope): the service edge of an authenticated request, built
    once from the principal the credentials gave (never from the body)."""
    principal = principal_of(request)
    if principal is None:  # pragma: no cover - OPTIONS never reaches a handler
        raise NotAuthenticated("not_authenticated", "请先登录，或在请求中提供 API 令牌。")
    return Scope.of(runtime_of(request), principal)


CallerScope = NamedDependency[SkipValidation[Scope]]
"""How a handler declares the caller's scope: ``sc: CallerScope``. The type is
:class:`Scope`; Litestar wants an injected dependency marked as one, and the value
(built by ``provide_scope``, never from the request) needs no validation."""


STAFF = ("admin", "clerk", "leader", "handler", "supervisor")
requires_staff = requires(*STAFF)
requires_admin = requires("admin")
requires_registrar = requires("clerk", "supervisor", "admin")
requires_scheduler = requires("admin", "supervisor")
