"""What /schema/openapi.json says beyond what Litestar derives from the handlers: the
error body of every refusal, times of day as they are sent, and files as files.

Litestar documents a refusal as its own ``{status_code, detail}`` (for 400 only) and a
``datetime.time`` as an ISO duration; the API sends ``{"error": …}`` (``ErrorBody``)
and ``"08:30:00"``. The schema must say what is sent: clients are generated from it, and
the schemathesis run checks every answer against it.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute

from core.web.auth import PUBLIC_PREFIXES
from core.web.errors import ErrorBody

ERRORS_ZH = {
    400: "请求格式错误（不是合法的 JSON，或查询参数无法解析）。",
    401: "未登录，或 API 令牌无效、已过期、已吊销。",
    403: "缺少所需的角色。",
    404: "地址或对象不存在（或调用者无权看到）。",
    409: "与现有数据冲突（如代码重复、状态已变）。",
    413: "请求内容过大。",
    422: "输入不正确；field 指出哪一项。",
    500: "系统内部错误。",
    502: "插件出错。",
    503: "数据库暂时无法连接，或系统繁忙；见 Retry-After。",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _statuses(path: str, methods: set[str]) -> list[int]:
    """The refusals an operation may answer: any may be malformed, name what is not
    there, be refused as input, fail, or find the database away; staff routes also need
    credentials and roles (and plugins answer there); writes may conflict or be too big."""
    codes = [400, 404, 422, 500, 503]
    if not path.startswith(PUBLIC_PREFIXES):
        codes += [401, 403, 502]
    if methods & WRITES:
        codes += [409, 413]
    return sorted(codes)


def document_errors(app: Litestar) -> None:
    """Declare ``ErrorBody`` for the refusals of every operation in the schema that does
    not declare its own (Open311 does: its errors have the GeoReport shape). Called on
    the built app, before the schema is first asked for."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.responses or not handler.resolve_include_in_schema():
                continue
            handler.responses = {
                status: ResponseSpec(
                    ErrorBody, generate_examples=False, description=ERRORS_ZH[status]
                )
                for status in _statuses(route.path, set(handler.http_methods))
            }


class TimeOfDaySchema(OpenAPISchemaPlugin):
    """``datetime.time`` as msgspec sends it (``HH:MM:SS``, local time), not Litestar's
    ``format: duration``."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is time

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            pattern=r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$",
            description="时刻 HH:MM:SS（北京时间）",
        )


class BinarySchema(OpenAPISchemaPlugin):
    """A ``bytes`` answer (PDF, Excel, an attachment) as what it is, a file: ``type:
    string, format: binary`` — Litestar says only ``type: string``, and a generated
    client would read the file as text."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is bytes

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
