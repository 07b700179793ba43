"""Open311 GeoReport v2 under /open311/{tenant}/v2 — JSON and XML.

Public: the service list and definitions, and a request's status by its receipt code.
POST requests.json and listing requests without IDs need the tenant's API key
(``xinfang open311-key create``). Errors use the GeoReport shape
``[{"code": …, "description": …}]``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from core.errors import DomainError, InvalidInput
from core.services import audit, open311, tenants
from core.web.auth import runtime_of

Req = Request[Any, Any, Any]


def _xml(root: str, item: str | None, body: Any) -> str:
    def fill(node: ET.Element, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, list):
                    holder = ET.SubElement(node, k)
                    for x in v:
                        fill(ET.SubElement(holder, k[:-1] if k.endswith("s") else k), x)
                else:
                    fill(ET.SubElement(node, k), v)
        elif value is None:
            return
        elif isinstance(value, bool):
            node.text = "true" if value else "false"
        else:
            node.text = str(value)

    top = ET.Element(root)
    if item is None:
        fill(top, body)
    else:
        for x in body:
            fill(ET.SubElement(top, item), x)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")


def _fmt(path: str) -> str:
    return "xml" if path.endswith(".xml") else "json"


def _strip(name: str) -> tuple[str, str]:
    for ext in (".json", ".xml"):
        if name.endswith(ext):
            return name[: -len(ext)], ext[1:]
    return name, "json"


async def _answer(
    fmt: str, root: str, item: str | None, work: Awaitable[Any], status: int = 200
) -> Response[Any]:
    try:
        body = await work
    except DomainError as exc:
        code = {401: 403}.get(exc.status, exc.status)
        errors = [{"code": code, "description": exc.message}]
        if fmt == "xml":
            return Response(
                _xml("errors", "error", errors), status_code=code, media_type="text/xml"
            )
        return Response(errors, status_code=code)
    if fmt == "xml":
        return Response(_xml(root, item, body), status_code=status, media_type="text/xml")
    return Response(body, status_code=status)


async def _tenant(request: Req, slug: str) -> Any:
    return await tenants.get_tenant_by_slug(runtime_of(request), slug)


@get(["/services.json", "/services.xml"])
async def services(request: Req, tenant: FromPath[str]) -> Response[Any]:
    """GeoReport v2: service list (the tenant's categories)."""

    async def work() -> Any:
        t = await _tenant(request, tenant)
        return await open311.services(runtime_of(request), t)

    return await _answer(_fmt(request.url.path), "services", "service", work())


@get("/services/{name:str}")
async def service_definition(
    request: Req, tenant: FromPath[str], name: FromPath[str]
) -> Response[Any]:
    """GeoReport v2: a service definition (the category's form as attributes)."""
    code, fmt = _strip(name)

    async def work() -> Any:
        t = await _tenant(request, tenant)
        return await open311.definition(runtime_of(request), t, code)

    return await _answer(fmt, "service_definition", None, work())


def _date(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "date_format", f"{field} 应为 W3C 时间，例如 2026-01-01T00:00:00Z。", field=field
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput("timezone_required", f"{field} 需带时区。", field=field)
    return parsed


@get(["/requests.json", "/requests.xml"])
async def list_requests(request: Req, tenant: FromPath[str]) -> Response[Any]:
    """GeoReport v2: request status by service_request_id (public), or a list (api_key)."""
    q = request.query_params

    async def work() -> Any:
        rt = runtime_of(request)
        t = await _tenant(request, tenant)
        if q.get("service_request_id"):
            return await open311.requests_by_id(rt, t, q["service_request_id"].split(","))
        await open311.check_key(t, q.get("api_key"))
        return await open311.list_requests(
            rt,
            t,
            service_code=q.get("service_code"),
            status=q.get("status"),
            start=_date(q.get("start_date"), "start_date"),
            end=_date(q.get("end_date"), "end_date"),
        )

    return await _answer(_fmt(request.url.path), "service_requests", "request", work())


@get("/requests/{name:str}")
async def get_request(request: Req, tenant: FromPath[str], name: FromPath[str]) -> Response[Any]:
    """GeoReport v2: one request's status by its receipt code."""
    rid, fmt = _strip(name)

    async def work() -> Any:
        from core.errors import NotFound

        t = await _tenant(request, tenant)
        found = await open311.requests_by_id(runtime_of(request), t, [rid])
        if not found:
            raise NotFound("request_not_found", "没有该回执号的诉求。")
        return found

    return await _answer(fmt, "service_requests", "request", work())


async def _fields(request: Req) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.json()
        if not isinstance(raw, dict):
            raise InvalidInput("body_format", "请求体应为 JSON 对象。")
        fields = dict(raw)
        fields.setdefault("attributes", dict(raw.get("attribute") or {}))
        fields.pop("attribute", None)
        return fields
    form = await request.form()
    fields = {}
    attributes: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute[") : key.index("]")]
            if key.endswith("[]"):
                attributes[code] = [str(v) for v in values]
            else:
                attributes[code] = str(values[-1])
        else:
            fields[key] = str(values[-1])
    fields["attributes"] = attributes
    return fields


@post(["/requests.json", "/requests.xml"], status_code=201)
async def create_request(request: Req, tenant: FromPath[str]) -> Response[Any]:
    """GeoReport v2: submit a request (needs the tenant's api_key)."""

    async def work() -> Any:
        t = await _tenant(request, tenant)
        fields = await _fields(request)
        await open311.check_key(t, fields.get("api_key") or request.query_params.get("api_key"))
        with audit.acting(audit.OPEN311):
            return [await open311.submit(runtime_of(request), t, fields)]

    return await _answer(_fmt(request.url.path), "service_requests", "request", work(), status=201)


def open311_router() -> Router:
    return Router(
        path="/open311/{tenant:str}/v2",
        route_handlers=[services, service_definition, list_requests, get_request, create_request],
        tags=["open311"],
    )
