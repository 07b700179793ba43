"""Every refusal becomes ``{"error": {"code", "message", "field"?, "details"?}}``
(``ErrorBody``; ``core.web.openapi`` declares it for every operation of the API schema).

Litestar's own validation messages (msgspec's English) are translated into zh-CN with a
stable code and the field path, so API clients and people see the same thing.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from msgspec import Struct

from core.db.engine import database_unavailable
from core.errors import DomainError, NotAuthenticated, TooManyRequests
from core.logsafe import Verbatim
from core.validation import translate

log = logging.getLogger("xinfang.web")


class ApiError(Struct, omit_defaults=True):
    """One refusal: a stable ``code`` for programs, a ``message`` in Chinese for people,
    the ``field`` to blame (a JSON path such as ``visitor.id_number``) when there is one,
    and ``details`` when there is more to say (``errors``: every refusal, when several)."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorBody(Struct):
    """What the JSON API answers instead of a result when it refuses or fails."""

    error: ApiError


# The session may have died during COMMIT: a write answered this may have been saved.
DATABASE_UNAVAILABLE = {
    "code": "database_unavailable",
    "message": "数据库暂时无法连接，请稍后重试；重新提交前请先确认上次操作是否已保存。",
}


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/", "/schema")) or path.endswith((".json", ".ics")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(ErrorBody(ApiError(**body)), status_code=status, media_type=MediaType.JSON)


def _respond(request: Request[Any, Any, Any], status: int, body: dict[str, Any]) -> Response[Any]:
    path = request.url.path
    if path.startswith("/open311/"):
        from core.web.open311 import georeport_error

        return georeport_error(path, status, body)
    if _wants_html(request):
        if status == 401:
            return Redirect(f"/login?next={quote(path)}")
        # The public pages (/t/…) have their own frame: no staff navigation.
        name = "public/error.html" if path.startswith("/t/") else "error.html"
        return Template(name, context={"error": body, "status": status}, status_code=status)
    return _json(status, body)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if exc.status >= 500:
        log.error("plugin failure: %s (%s) on %s", exc.code, exc.details, request.url.path)
    response = _respond(request, exc.status, exc.as_dict())
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [translate(e.get("message", ""), e.get("key")) for e in extra] or [
        {"code": "invalid_request", "message": "请求参数不正确。"}
    ]
    first = dict(errors[0])
    if len(errors) > 1:
        first["details"] = {"errors": errors}
    status = 400 if first["code"] == "malformed_body" else 422
    return _respond(request, status, first)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        body = {"code": "not_found", "message": "请求的地址或对象不存在。"}
    elif isinstance(exc, MethodNotAllowedException):
        body = {"code": "method_not_allowed", "message": "该地址不支持此请求方法。"}
    elif isinstance(exc, PermissionDeniedException):
        body = {"code": "csrf_failed", "message": "表单已过期或来源不正确，请刷新页面后重试。"}
    elif exc.status_code == 400:
        body = {
            "code": "malformed_json",
            "message": "请求内容不是合法的 JSON，请检查括号、引号和逗号。",
        }
    elif exc.status_code == 413:
        body = {"code": "body_too_large", "message": "请求内容过大。"}
    elif exc.status_code >= 500:
        return internal_error(request, exc)
    else:  # Litestar's detail is English and may describe internals
        body = {"code": "http_error", "message": f"请求无法处理（HTTP {exc.status_code}）。"}
    return _respond(request, exc.status_code, body)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        # Not the request's fault and usually over in seconds: "try again", not a 500.
        log.warning(
            "database unavailable (%s) on %s %s", type(exc).__name__, request.method,
            request.url.path,
        )  # fmt: skip
        response = _respond(request, 503, DATABASE_UNAVAILABLE)
        response.set_header("Retry-After", "5")
        return response
    # Only the type and the frames go to the log: exception text may carry personal data.
    frames = Verbatim("".join(traceback.format_tb(exc.__traceback__)))
    log.error(
        "unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.url.path, frames
    )
    return _respond(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        {"code": "internal_error", "message": "系统内部错误，已记录，请稍后重试。"},
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    NotAuthenticated: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
