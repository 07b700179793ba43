"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from msgspec import Struct

from core import __version__, security
from core.runtime import Runtime
from core.web.admin import ADMIN
from core.web.api import api_router
from core.web.auth import (
    PUBLIC_PREFIXES,
    AuthMiddleware,
    StaffSessionConfig,
    provide_scope,
    runtime_of,
)
from core.web.case_actions import CASE_ACTION_PAGES
from core.web.casework import CASEWORK_PAGES
from core.web.casework_api import casework_router
from core.web.desk import DESK
from core.web.documents import DOCUMENT_PAGES, documents_router
from core.web.errors import EXCEPTION_HANDLERS
from core.web.guard import check_request
from core.web.headers import security_headers
from core.web.inbox_api import inbox_router
from core.web.limits import limit_middleware
from core.web.lists import LISTS
from core.web.open311 import open311_router
from core.web.openapi import BinarySchema, TimeOfDaySchema, document_errors
from core.web.pages import PAGES, configure_templates
from core.web.plugin_api import plugin_api_router, plugin_routers
from core.web.public import PUBLIC
from core.web.reports import reports_router
from core.web.reports_page import REPORT_PAGES
from core.web.schedule import schedule_router
from core.web.stats_api import stats_router
from core.web.stats_page import STATS_PAGES

HERE = Path(__file__).parent


class Health(Struct):
    status: str
    """``ok``: the process lives."""


class Readiness(Struct):
    status: str
    """``ok`` when every check is, else ``unavailable`` (HTTP 503)."""
    checks: dict[str, str]
    """``database`` and ``redis``: ``ok`` or ``error: <exception type>``."""


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> Health:
    return Health(status="ok")


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    rt = runtime_of(request)
    checks: dict[str, str] = {}
    try:
        await _db_ping()
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        if rt.redis is None:
            raise RuntimeError("not connected")
        await rt.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response(
        Readiness(status="ok" if ok else "unavailable", checks=checks),
        status_code=200 if ok else 503,
    )


async def _db_ping() -> None:
    from core.db.tables import Tenant

    await Tenant.count()


def create_app(rt: Runtime, *, manage_resources: bool = True) -> Litestar:
    """Build the app around ``rt``. With ``manage_resources`` the app opens and closes the
    database pool and the Redis connection itself (``xinfang serve``); tests and
    ``xinfang run`` manage them outside."""
    csrf_secret = security.csrf_secret(rt.settings.secret_key)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if not manage_resources:
            yield
            return
        from core.bootstrap import open_resources

        async with open_resources(rt, web=True):
            yield

    session = StaffSessionConfig(
        key="xf_session",
        max_age=rt.settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=rt.settings.base_url.startswith("https://"),
        # Anchored: Litestar searches these anywhere in the path (/admin/open311 is staff's).
        exclude=["^/healthz", "^/readyz", "^/static", "^/open311"],
    )
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            api_router(),
            stats_router(),
            inbox_router(),
            casework_router(),
            documents_router(),
            reports_router(),
            schedule_router(),
            plugin_api_router(),
            *plugin_routers(rt),
            open311_router(),
            *PAGES,
            *LISTS,
            *DESK,
            *CASE_ACTION_PAGES,
            *CASEWORK_PAGES,
            *DOCUMENT_PAGES,
            *ADMIN,
            *STATS_PAGES,
            *REPORT_PAGES,
            *PUBLIC,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        lifespan=[lifespan],
        dependencies={"sc": Provide(provide_scope)},
        before_request=check_request,
        middleware=[
            limit_middleware(rt.settings.max_inflight),  # first: refuse before any work
            session.middleware,
            DefineMiddleware(AuthMiddleware, exclude=[f"^{p}" for p in PUBLIC_PREFIXES]),
        ],
        csrf_config=CSRFConfig(
            secret=csrf_secret,
            cookie_name="xf_csrf",
            cookie_httponly=False,
            # The public lookup's JSON twin carries no credentials (docs in core.web.public).
            exclude=["/api/", "/open311/", "/healthz", "/readyz", r"^/t/[^/]+/lookup\.json$"],
        ),
        template_config=TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=configure_templates,
        ),
        openapi_config=OpenAPIConfig(
            title="信访接待平台 Xinfang API",
            version=__version__,
            path="/schema",
            # JSON only: the HTML viewers load their code from a CDN (docs/security.md).
            render_plugins=[JsonRenderPlugin()],
        ),
        plugins=[TimeOfDaySchema(), BinarySchema()],
        before_send=[security_headers(rt.settings.base_url)],
        exception_handlers=EXCEPTION_HANDLERS,
        # The process configures logging (core.logs, with redaction); Litestar's default
        # would replace the root handler with its own.
        logging_config=None,
        debug=False,
        request_max_body_size=2 * 1024 * 1024,
        state=None,
    )
    app.state.rt = rt
    document_errors(app)
    return app
