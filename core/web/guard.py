"""One check of every request's raw input, before any handler or query sees it.

Run as the app's ``before_request`` hook (after authentication and guards, before
Litestar decodes parameters and the body). It refuses, with the field named:

- text that is not valid UTF-8 (path, query string, form or JSON body) — 400;
- a NUL character in any path or query parameter, form field, JSON string or key —
  PostgreSQL cannot store one, SQLite would store it silently — 422;
- JSON nested deeper than :data:`MAX_DEPTH` (msgspec recurses; deeper input is never
  a real request) — 400;
- a JSON body whose types are only right after coercion (``"headcount": "1"``):
  Litestar converts bodies leniently, so the body is converted strictly here first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException
from litestar.routes import HTTPRoute
from msgspec import Struct

from core.errors import InvalidInput, MalformedRequest
from core.validation import convert

MAX_DEPTH = 32


def _invalid_utf8(field: str) -> MalformedRequest:
    return MalformedRequest(
        "invalid_utf8", f"{field}：内容不是合法的 UTF-8 编码文本。", field=field
    )


def _nul(field: str) -> InvalidInput:
    return InvalidInput(
        "nul_character", f"{field}：不能包含空字符（\\0），请删除后重试。", field=field
    )


def _too_deep(field: str) -> MalformedRequest:
    return MalformedRequest(
        "too_deep", f"请求内容嵌套超过 {MAX_DEPTH} 层，无法处理。", field=field or "body"
    )


def check_text(value: str, field: str) -> None:
    if "\x00" in value:
        raise _nul(field)


def _pairs(text: str, field: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _invalid_utf8(field) from None


def scan_json(value: Any, prefix: str = "") -> None:
    """Refuse NUL characters and nesting deeper than MAX_DEPTH (iteratively: the point is
    not to recurse on hostile input)."""
    stack: list[tuple[Any, str, int]] = [(value, prefix, 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, path or "body")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _too_deep(path)
            if isinstance(item, dict):
                children = []
                for key, child in item.items():
                    check_text(str(key), path or "body")
                    children.append((child, f"{path}.{key}" if path else str(key), depth + 1))
            else:
                children = [(child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))


async def _json_body(request: Request[Any, Any, Any]) -> Any:
    try:
        return await request.json()
    except RecursionError:
        raise _too_deep("body") from None
    except UnicodeDecodeError:
        raise _invalid_utf8("body") from None
    except SerializationException:
        raise MalformedRequest(
            "malformed_json", "请求内容不是合法的 JSON，请检查括号、引号和逗号。"
        ) from None


def _options(request: Request[Any, Any, Any]) -> Response[None]:
    """204 with every method of the path. Litestar's own OPTIONS answer lists only the
    methods of the first handler registered for a path (GET, not POST, on /cases)."""
    template = request.scope.get("path_template")
    methods = {"OPTIONS"}
    for route in request.app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            methods |= set(route.methods)
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods))})


def _check_pairs(text: bytes, where: str) -> None:
    """Every key and value of a URL-encoded query or form is well-formed text."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_utf8(where) from None
    for key, value in _pairs(decoded, where):
        check_text(key, where)
        check_text(value, key)


def _check_address(request: Request[Any, Any, Any]) -> None:
    """The path (raw and its parameters) and the query string."""
    raw_path = request.scope.get("raw_path")
    if raw_path:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid_utf8("path") from None
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)
    query = request.scope.get("query_string", b"")
    if query:
        _check_pairs(query, "query")


async def _check_multipart(request: Request[Any, Any, Any]) -> None:
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise _invalid_utf8("body") from None
    for key, value in form.multi_items():
        check_text(key, "body")
        if isinstance(value, str):
            check_text(value, key)


async def check_request(request: Request[Any, Any, Any]) -> Response[None] | None:
    if request.method == "OPTIONS":
        return _options(request)
    _check_address(request)
    if request.method in ("GET", "HEAD"):
        return None
    content_type = request.content_type[0]
    if content_type == RequestEncodingType.MULTI_PART.value:
        # Parsed from the stream, once: the CSRF check may have read it for its token
        # already, and a stream read cannot be read again as a body (it would wait).
        await _check_multipart(request)
        return None
    body = await request.body()
    if not body:
        return None
    if content_type == RequestEncodingType.URL_ENCODED.value:
        _check_pairs(body, "body")
        return None
    data_field = request.route_handler.parsed_data_field
    if content_type != RequestEncodingType.JSON.value and data_field is None:
        return None  # a body the handler never reads
    raw = await _json_body(request)
    scan_json(raw)
    if data_field is not None and data_field.is_subclass_of(Struct):
        convert(raw, data_field.annotation)
    return None
