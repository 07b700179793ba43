"""Open311 GeoReport v2 under /open311/{tenant}/v2 — JSON and XML.

Public: the service list and definitions, and a request's status by its receipt code.
POST requests.json and listing requests without IDs need the tenant's API key
(``xinfang open311-key create``). Errors use the GeoReport shape
``[{"code": …, "description": …}]``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, Parameter

from core.errors import DomainError, InvalidInput
from core.plugins import TenantInfo
from core.services import audit, open311, tenants
from core.services.scope import Scope
from core.validation import FIRST_DAY, LAST_DAY, check_day, convert
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


def georeport_error(path: str, status: int, error: dict[str, Any]) -> Response[Any]:
    """An error in the GeoReport shape ``[{code, description}]`` (plus ``field`` when one
    is to blame); a missing or wrong api_key is 403 as the spec says."""
    code = {401: 403}.get(status, status)
    item: dict[str, Any] = {"code": code, "description": error["message"]}
    if error.get("field"):
        item["field"] = error["field"]
    if _fmt(path) == "xml":
        return Response(_xml("errors", "error", [item]), status_code=code, media_type="text/xml")
    return Response([item], status_code=code)


async def _answer(
    fmt: str, root: str, item: str | None, work: Awaitable[Any], status: int = 200
) -> Response[Any]:
    try:
        body = await work
    except DomainError as exc:
        return georeport_error(f".{fmt}", exc.status, exc.as_dict())
    if fmt == "xml":
        return Response(_xml(root, item, body), status_code=status, media_type="text/xml")
    return Response(body, status_code=status)


async def _tenant(request: Req, slug: str) -> tuple[Scope, TenantInfo]:
    """The tenant in the path (active) and its system scope: nobody is logged in here."""
    rt = runtime_of(request)
    t = await tenants.get_tenant_by_slug(rt, slug)
    return Scope.system(rt, t.id, t.slug), t


@get(["/services.json", "/services.xml"])
async def services(request: Req, tenant: FromPath[str]) -> Response[Any]:
    """GeoReport v2: service list (the tenant's categories)."""

    async def work() -> Any:
        sc, t = await _tenant(request, tenant)
        return await open311.services(sc, t)

    return await _answer(_fmt(request.url.path), "services", "service", work())


@get("/services/{name:str}")
async def service_definition(
    request: Req, tenant: FromPath[str], name: FromPath[str]
) -> Response[Any]:
    """GeoReport v2: a service definition (the category's form as attributes)."""
    code, fmt = _strip(name)

    async def work() -> Any:
        sc, t = await _tenant(request, tenant)
        return await open311.definition(sc, t, code)

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
    check_day(parsed.date(), FIRST_DAY, LAST_DAY, field=field, what=field)
    return parsed


Query = Annotated[str | None, Parameter(max_length=2000)]


@get(["/requests.json", "/requests.xml"])
async def list_requests(
    request: Req,
    tenant: FromPath[str],
    service_request_id: Query = None,
    api_key: Query = None,
    service_code: Query = None,
    status: Query = None,
    start_date: Query = None,
    end_date: Query = None,
) -> Response[Any]:
    """GeoReport v2: request status by service_request_id (public), or a list (api_key)."""

    async def work() -> Any:
        sc, t = await _tenant(request, tenant)
        if service_request_id:
            return await open311.requests_by_id(sc, t, service_request_id.split(","))
        await open311.check_key(sc, api_key)
        return await open311.list_requests(
            sc,
            t,
            service_code=service_code,
            status=status,
            start=_date(start_date, "start_date"),
            end=_date(end_date, "end_date"),
        )

    return await _answer(_fmt(request.url.path), "service_requests", "request", work())


@get("/requests/{name:str}")
async def get_request(request: Req, tenant: FromPath[str], name: FromPath[str]) -> Response[Any]:
    """GeoReport v2: one request's status by its receipt code."""
    rid, fmt = _strip(name)

    async def work() -> Any:
        from core.errors import NotFound

        sc, t = await _tenant(request, tenant)
        found = await open311.requests_by_id(sc, t, [rid])
        if not found:
            raise NotFound("request_not_found", "没有该回执号的诉求。")
        return found

    return await _answer(fmt, "service_requests", "request", work())


async def _fields(request: Req) -> open311.RequestIn:
    """The submission as typed fields: JSON as sent, or the form with its
    ``attribute[code]`` / ``attribute[code][]`` keys gathered into ``attribute``."""
    if request.content_type[0] == "application/json":
        return convert(await request.json(), open311.RequestIn)
    form = await request.form()
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getall(key) if isinstance(v, str)]
        if not values:
            continue
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute[") : key.index("]")]
            attributes[code] = values if key.endswith("[]") else values[-1]
        else:
            fields[key] = values[-1]
    fields["attribute"] = attributes
    return convert(fields, open311.RequestIn)


@post(["/requests.json", "/requests.xml"], status_code=201)
async def create_request(request: Req, tenant: FromPath[str]) -> Response[Any]:
    """GeoReport v2: submit a request (needs the tenant's api_key)."""

    async def work() -> Any:
        sc, t = await _tenant(request, tenant)
        fields = await _fields(request)
        await open311.check_key(sc, fields.api_key or request.query_params.get("api_key"))
        with audit.acting(audit.OPEN311):
            return [await open311.submit(sc, t, fields)]

    return await _answer(_fmt(request.url.path), "service_requests", "request", work(), status=201)


def open311_router() -> Router:
    return Router(
        path="/open311/{tenant:str}/v2",
        route_handlers=[services, service_definition, list_requests, get_request, create_request],
        tags=["open311"],
    )
