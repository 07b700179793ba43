"""Every refusal becomes ``{"error": {"code", "message", "field"?, "details"?}}``.

Litestar's own validation messages (msgspec's English) are translated into zh-CN with a
stable code and the field path, so API clients and people see the same thing.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

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

from core.errors import DomainError, NotAuthenticated, TooManyRequests

log = logging.getLogger("xinfang.web")

_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"Expected `str` of length <= (\d+)"), "too_long", "长度不能超过 {0} 个字符。"),
    (re.compile(r"Expected `str` of length >= (\d+)"), "too_short", "至少需要 {0} 个字符。"),
    (
        re.compile(r"Expected `(?:array|object)` of length <= (\d+)"),
        "too_many_items",
        "最多只能有 {0} 项。",
    ),
    (
        re.compile(r"Expected `(?:array|object)` of length >= (\d+)"),
        "too_few_items",
        "至少需要 {0} 项。",
    ),
    (re.compile(r"Expected `(?:int|float)` >= (-?\d+)"), "out_of_range", "不能小于 {0}。"),
    (re.compile(r"Expected `(?:int|float)` <= (-?\d+)"), "out_of_range", "不能大于 {0}。"),
    (
        re.compile(r"Expected `str` matching regex '\^\(\[01\]"),
        "invalid_time",
        "时间格式不正确，应为 08:30。",
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        "invalid_format",
        "格式不正确：只能包含字母、数字、点、下划线和连字符。",
    ),
    (re.compile(r"Invalid enum value '([^']*)'"), "invalid_choice", "取值“{0}”不在可选范围内。"),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        "invalid_datetime",
        "时间格式不正确，应为 2026-11-23T09:30:00+08:00。",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded date"),
        "invalid_date",
        "日期格式不正确，应为 2026-11-23。",
    ),
    (
        re.compile(r"Invalid ISO8601 encoded time|Invalid RFC3339 encoded time"),
        "invalid_time",
        "时间格式不正确，应为 08:30。",
    ),
    (
        re.compile(r"Expected `(\w+)`(?: \| `\w+`)*, got `(\w+)`"),
        "wrong_type",
        "类型错误：应为 {0}，收到的是 {1}。",
    ),
]
_TYPE_ZH = {
    "str": "文本",
    "int": "整数",
    "float": "数字",
    "bool": "布尔值",
    "object": "对象",
    "array": "数组",
    "null": "空值",
    "date": "日期",
    "datetime": "时间",
}


def translate(message: str, key: str | None) -> dict[str, Any]:
    field = None if key in (None, "data") else key
    if m := re.search(r"unknown field `([^`]+)`", message):
        name = f"{field}.{m.group(1)}" if field else m.group(1)
        return {
            "code": "unknown_field",
            "field": name,
            "message": f"不认识的字段 {name}，请检查拼写或删除该字段。",
        }
    if m := re.search(r"missing required field `([^`]+)`", message):
        name = f"{field}.{m.group(1)}" if field else m.group(1)
        return {"code": "missing_field", "field": name, "message": f"缺少必填字段 {name}。"}
    for pattern, code, template in _RULES:
        if m := pattern.search(message):
            args = [_TYPE_ZH.get(g, g) for g in m.groups()]
            out: dict[str, Any] = {"code": code, "message": template.format(*args)}
            if field:
                out["field"] = field
                out["message"] = f"{field}：{out['message']}"
            return out
    if field is None:
        return {"code": "malformed_body", "message": "请求内容必须是一个 JSON 对象。"}
    return {"code": "invalid_field", "field": field, "message": f"{field}：取值无效。"}


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/", "/schema")) or path.endswith((".json", ".ics")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response({"error": body}, status_code=status, media_type=MediaType.JSON)


def _respond(request: Request[Any, Any, Any], status: int, body: dict[str, Any]) -> Response[Any]:
    if _wants_html(request):
        if status == 401:
            return Redirect(f"/login?next={request.url.path}")
        return Template("error.html", context={"error": body, "status": status}, status_code=status)
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
    else:
        body = {"code": "http_error", "message": str(exc.detail)}
    return _respond(request, exc.status_code, body)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Only the type and the frames go to the log: exception text may carry personal data.
    frames = "".join(traceback.format_tb(exc.__traceback__))
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
