"""Open311 GeoReport v2 for one tenant: services from its enabled plugins, public
submission through the same registration service as staff (channel 网上), status by
receipt code. Request descriptions and personal data are never published.

The public handlers resolve the tenant from the path and call these with its system
scope and its ``TenantInfo`` (categories come from its plugins)."""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct

from core import security
from core.db.tables import PetitionCase, Tenant, Visitor
from core.domain import identity
from core.domain.lifecycle import STATUS_PUBLIC_ZH
from core.errors import InvalidInput, NotAuthenticated, NotFound
from core.plugins import TenantInfo
from core.principal import Principal
from core.schemas import CaseIn, VisitorIn
from core.services import audit, cases, events, sector, users
from core.services.answers import FormFieldOut
from core.services.scope import Scope
from core.validation import has_visible

SERVICE_USERNAME = "open311"
CLOSED = {"closed", "final", "archived", "not_accepted"}
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}")
_MAX_LIST = 200


# What GeoReport v2 answers (the spec's field names and order; the web sends each
# as JSON, or as XML elements of the same names).


class Service(Struct):
    """A service of the list: one of the tenant's categories."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    """True when the service has attributes (its definition asks for them)."""
    type: Literal["batch"]
    keywords: str
    """The plugin the category comes from (``core`` for the built-in ones)."""
    group: str


class AttributeValue(Struct):
    key: str
    name: str


class Attribute(Struct, omit_defaults=True):
    """A field of a service's form (``values`` only for list datatypes)."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] = []


class ServiceDefinition(Struct):
    service_code: str
    attributes: list[Attribute]


class RequestStatus(Struct):
    """A request as the public may see it: never its description or the submitter."""

    service_request_id: str
    """The receipt code (回执号)."""
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    agency_responsible: str
    requested_datetime: str
    updated_datetime: str


class RequestAccepted(Struct):
    service_request_id: str
    service_notice: str
    account_id: None


async def create_key(scope: Scope) -> str:
    """Issue (or rotate) the tenant's Open311 API key; only its SHA-256 is stored.
    Also ensures the service account cases submitted through Open311 are registered by."""
    key = "o311_" + secrets.token_urlsafe(24)
    tid = scope.tenant_id
    async with scope.tx():
        await Tenant.update({Tenant.open311_key_hash: security.hash_token(key)}).where(
            Tenant.id == tid
        )
        await audit.append(scope.rt, tid, "open311.key_created", target=f"tenant:{tid}")
    await _service_user(scope)
    return key


async def has_key(scope: Scope) -> bool:
    """Whether the tenant has an Open311 API key (never which: only its hash is kept)."""
    row = await Tenant.select(Tenant.open311_key_hash).where(Tenant.id == scope.tenant_id).first()
    return bool(row and row["open311_key_hash"])


async def _service_user(scope: Scope) -> Principal:
    return await users.service_account(scope, SERVICE_USERNAME, "Open311 网上受理")


async def check_key(scope: Scope, key: str | None) -> None:
    row = await Tenant.select(Tenant.open311_key_hash).where(Tenant.id == scope.tenant_id).first()
    stored = row["open311_key_hash"] if row else None
    if not key or not stored or not security.verify_token(key, stored):
        raise NotAuthenticated("api_key_invalid", "api_key 缺失或无效。", field="api_key")


async def services(scope: Scope, tenant: TenantInfo) -> list[Service]:
    out = []
    for item in await sector.categories(scope, tenant):
        fields = await sector.form_schema(scope, tenant, item.code)
        out.append(
            Service(
                service_code=item.code,
                service_name=item.title_zh,
                description=_given(item.description, ""),
                metadata=bool(fields),
                type="batch",
                keywords=item.plugin or "core",
                group=_given(item.group, ""),
            )
        )
    return out


def _given(value: Any, default: Any) -> Any:
    """An optional key of a plugin's answer, or ``default`` when it was left out."""
    return default if value is UNSET else value


def _attribute(f: FormFieldOut) -> Attribute:
    kind: str = f.datatype
    values = [AttributeValue(key=str(v.key), name=v.name) for v in _given(f.values, [])]
    if kind == "boolean":
        kind = "singlevaluelist"
        values = [AttributeValue(key="true", name="是"), AttributeValue(key="false", name="否")]
    return Attribute(
        variable=True,
        code=f.code,
        datatype=kind,
        required=f.required,
        datatype_description=_given(f.datatype_description, ""),
        order=_given(f.order, 0),
        description=_given(f.description, f.code),
        values=values,
    )


async def definition(scope: Scope, tenant: TenantInfo, code: str) -> ServiceDefinition:
    """A service's definition; an unknown service is 404, like an unknown request."""
    if code not in {c.code for c in await sector.categories(scope, tenant)}:
        raise NotFound("service_not_found", "没有该服务（service_code）。", field="service_code")
    fields = await sector.form_schema(scope, tenant, code)
    return ServiceDefinition(service_code=code, attributes=[_attribute(f) for f in fields])


def _request_out(tenant: TenantInfo, row: dict[str, Any], titles: dict[str, str]) -> RequestStatus:
    return RequestStatus(
        service_request_id=row["receipt_code"],
        status="closed" if row["status"] in CLOSED else "open",
        status_notes=STATUS_PUBLIC_ZH.get(row["status"], row["status"]),
        service_name=titles.get(row["category"], row["category"]),
        service_code=row["category"],
        agency_responsible=tenant.name,
        requested_datetime=row["received_at"].isoformat(),
        updated_datetime=row["updated_at"].isoformat(),
    )


async def _titles(scope: Scope, tenant: TenantInfo) -> dict[str, str]:
    return {c.code: c.title_zh for c in await sector.categories(scope, tenant)}


_COLUMNS = (
    PetitionCase.receipt_code,
    PetitionCase.category,
    PetitionCase.status,
    PetitionCase.received_at,
    PetitionCase.updated_at,
)


async def requests_by_id(scope: Scope, tenant: TenantInfo, codes: list[str]) -> list[RequestStatus]:
    codes = [c.strip().upper() for c in codes if c.strip()][:_MAX_LIST]
    if not codes:
        return []
    async with scope.tx(write=False):
        rows = await scope.select(PetitionCase, *_COLUMNS).where(
            PetitionCase.receipt_code.is_in(codes)
        )
    titles = await _titles(scope, tenant)
    return [_request_out(tenant, r, titles) for r in rows]


async def list_requests(
    scope: Scope,
    tenant: TenantInfo,
    *,
    service_code: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[RequestStatus]:
    """Recent requests (default: last 90 days), newest first, at most 200."""
    end = end or scope.rt.clock.now()
    start = start or end - timedelta(days=90)
    query = scope.select(PetitionCase, *_COLUMNS).where(
        (PetitionCase.received_at >= start) & (PetitionCase.received_at <= end)
    )
    if service_code:
        query = query.where(PetitionCase.category.is_in(service_code.split(",")))
    async with scope.tx(write=False):
        rows = await query.order_by(PetitionCase.id, ascending=False).limit(_MAX_LIST)
    titles = await _titles(scope, tenant)
    out = [_request_out(tenant, r, titles) for r in rows]
    if status:
        wanted = set(status.split(","))
        out = [r for r in out if r.status in wanted]
    return out


Text = Annotated[str, Meta(max_length=200)]


class RequestIn(Struct):
    """A GeoReport v2 ``POST requests`` body (form or JSON). Fields are text, as the spec
    has them; JSON ``lat``/``long`` may also be numbers. Unknown fields are ignored
    (clients send spec fields we do not use)."""

    service_code: Annotated[str, Meta(max_length=63)] = ""
    api_key: Text | None = None
    jurisdiction_id: Text | None = None
    description: Annotated[str, Meta(max_length=5000)] | None = None
    """Same limit as the cause of a case registered by staff."""
    first_name: Annotated[str, Meta(max_length=50)] | None = None
    last_name: Annotated[str, Meta(max_length=50)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    address_string: Text | None = None
    address_id: Text | None = None
    lat: float | Text | None = None
    long: float | Text | None = None
    device_id: Annotated[str, Meta(max_length=64)] | None = None
    account_id: Text | None = None
    media_url: Annotated[str, Meta(max_length=2000)] | None = None
    attribute: dict[Annotated[str, Meta(max_length=63)], Text | list[Text]] = {}


def _coordinate(value: float | str | None, field: str, limit: int) -> float | None:
    """A WGS84 degree within ±limit; text as forms send it, or a JSON number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and -limit <= number <= limit):
        raise InvalidInput(
            "coordinate_invalid",
            f"{field} 应为 -{limit} 到 {limit} 之间的十进制度数，例如 39.9042。",
            field=field,
        )
    return number


async def submit(scope: Scope, tenant: TenantInfo, fields: RequestIn) -> dict[str, Any]:
    """A public submission: validate, then register through the staff registration
    service with channel ``online``, acting as the tenant's Open311 service account;
    the submitter becomes the visitor."""
    rt = scope.rt
    code = fields.service_code.strip()
    if not code:
        raise InvalidInput("service_code_required", "缺少 service_code。", field="service_code")
    await sector.category(scope, tenant, code)
    description = (fields.description or "").strip()
    if not has_visible(description):
        raise InvalidInput(
            "description_required", "请填写诉求内容（description）。", field="description"
        )
    name = ((fields.last_name or "") + (fields.first_name or "")).strip()
    if not has_visible(name):
        raise InvalidInput(
            "name_required",
            "请填写姓名（first_name/last_name），不能只有空格或不可见字符。",
            field="first_name",
        )
    lat = _coordinate(fields.lat, "lat", 90)
    long = _coordinate(fields.long, "long", 180)
    phone = (fields.phone or "").strip() or None
    email = (fields.email or "").strip() or None
    if phone:
        phone = identity.normalize_phone(phone, field="phone")
    if email and not _EMAIL.fullmatch(email):
        raise InvalidInput("email_format", "电子邮箱格式不正确。", field="email")
    if not phone and not email:
        raise InvalidInput(
            "contact_required", "请至少留下手机号或电子邮箱，以便告知办理结果。", field="phone"
        )
    address = (fields.address_string or "").strip() or None
    actor = await _service_user(scope)
    data = CaseIn(
        channel="online",
        cause=description,
        visitor=VisitorIn(name=name, phone=phone, address=address),
        category=code,
        locality=address or "",
        form=dict(fields.attribute),
    )
    case = await cases.register_case(Scope.of(rt, actor), data)
    extra: dict[str, Any] = {}
    if lat is not None:
        extra["lat"] = lat
    if long is not None:
        extra["long"] = long
    if fields.device_id:
        extra["device_id"] = fields.device_id
    async with scope.tx():
        if email:
            # On the visitor, not in the append-only event log: a key rotation must be
            # able to re-encrypt it (docs/security.md, "Keys").
            await scope.update(
                Visitor, {Visitor.email_enc: rt.keys.encrypt(email, context="visitor.email")}
            ).where(Visitor.id == case.visitor_id)
        await events.record_event(
            scope,
            case.id,
            "open311_submitted",
            at=rt.clock.now(),
            actor_id=actor.user_id,
            data=extra,
        )
    notice = "您的诉求已提交，请凭回执号查询办理进度。"
    if case.status == "not_accepted":
        notice = "您的诉求不属于信访受理范围，请依法通过其他途径解决。"
        for event in case.events:
            if event.kind == "redirected" and (event.data or {}).get("notice"):
                notice = event.data["notice"]
    return {
        "service_request_id": case.receipt_code,
        "service_notice": notice,
        "account_id": None,
    }
