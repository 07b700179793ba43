"""Public pages, no login, under ``/t/{tenant}/`` (the tenant's slug; an unknown or
inactive tenant is a 404 page):

- ``GET /t/{tenant}/board`` — the reception schedule board (专家门诊式接访): who receives,
  when, where and on which topics, for the coming weeks, published slots only, with the
  iCal subscription; ``?display=1`` is the lobby screen (large type, no navigation,
  reloads itself every :data:`DISPLAY_REFRESH` seconds);
- ``GET|POST /t/{tenant}/lookup`` — progress by receipt code and the last four digits of
  the phone; ``POST /t/{tenant}/lookup.json`` is its JSON twin (``LookupIn`` →
  ``PublicProgress``; no cookie, no CSRF token: it carries no credentials);
- ``GET|POST /t/{tenant}/submit`` — online submission (网上信访) with the plugin fields of
  the chosen category (``GET /t/{tenant}/submit/fields``, htmx), registered by the same
  service as the desk with channel ``online``.

Each handler resolves the tenant and acts with its system scope; the services
(``core.services.public``, ``core.services.rota``) do the rest, including the rate
limits (``core.services.public_throttle``). Personal numbers travel only in POST
bodies, never in a URL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Template

from core import links
from core.domain import identity
from core.domain.rota.model import HALF_ZH
from core.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from core.plugins import TenantInfo
from core.services import public, public_throttle, rota, sector, tenants
from core.services.public import PublicProgress
from core.services.rota.answers import PublicSlot
from core.services.scope import Scope
from core.timefmt import zh_date
from core.web.auth import runtime_of
from core.web.desk import field_id
from core.web.deskform import error_input, error_message, label_of, on_form, unflatten
from core.web.errors import ErrorBody

log = logging.getLogger("xinfang.web.public")

DISPLAY_REFRESH = 300
"""Seconds between reloads of the lobby screen."""
BOARD_DAYS = 28
"""How far ahead the board shows (four weeks); the JSON and iCal feeds have it all."""
SUBMIT_MAX_BODY = 64 * 1024
"""Bytes a submission may have (the form's text is at most ~15 000 characters)."""
HONEYPOT = "homepage"
"""A field people never see (hidden by the style sheet) and bots fill in."""
_WEEKDAY = "一二三四五六日"

Req = Request[Any, Any, Any]


async def _tenant(request: Req, slug: str) -> tuple[Scope, TenantInfo]:
    """The system acting for the (active) tenant in the path; 404 for any other."""
    rt = runtime_of(request)
    tenant = await tenants.get_tenant_by_slug(rt, slug[:64])
    return Scope.system(rt, tenant.id, tenant.slug), tenant


def _address(request: Req) -> str | None:
    return request.client.host if request.client else None


def _chrome(tenant: TenantInfo, current: str) -> dict[str, Any]:
    base = f"/t/{tenant.slug}"
    return {
        "tenant": tenant,
        "current": current,
        "nav": [
            ("board", f"{base}/board", "接访安排"),
            ("lookup", f"{base}/lookup", "进度查询"),
            ("submit", f"{base}/submit", "网上信访"),
        ],
        "base": base,
    }


# --- the board -----------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    slots: list[PublicSlot]


@dataclass(frozen=True)
class Week:
    label: str
    days: list[Day]


def _weeks(slots: list[PublicSlot], today: date) -> tuple[Day, list[Week]]:
    """Today's slots, and the coming weeks (from tomorrow) day by day."""
    by_day: dict[date, list[PublicSlot]] = {}
    for s in slots:
        if today <= s.day < today + timedelta(days=BOARD_DAYS):
            by_day.setdefault(s.day, []).append(s)
    monday = today - timedelta(days=today.weekday())
    weeks: dict[int, list[Day]] = {}
    for d in sorted(by_day):
        if d == today:
            continue
        label = f"{d.month}月{d.day}日 周{_WEEKDAY[d.weekday()]}"
        weeks.setdefault((d - monday).days // 7, []).append(Day(d, label, by_day[d]))
    names = {0: "本周", 1: "下周"}
    out = []
    for n, days in sorted(weeks.items()):
        start = monday + timedelta(days=7 * n)
        out.append(Week(names.get(n, f"{start.month}月{start.day}日起的一周"), days))
    today_day = Day(today, zh_date(today, weekday=True), by_day.get(today, []))
    return today_day, out


LOBBY_ROWS = 10
"""Rows of the lobby screen's table of coming slots (it must fit a screen)."""


def _upcoming(weeks: list[Week]) -> list[tuple[Day, PublicSlot]]:
    """The next slots after today, at most :data:`LOBBY_ROWS`."""
    return [(d, s) for w in weeks for d in w.days for s in d.slots][:LOBBY_ROWS]


@get("/t/{tenant:str}/board", include_in_schema=False)
async def board(request: Req, tenant: FromPath[str], display: FromQuery[bool] = False) -> Template:
    scope, info = await _tenant(request, tenant)
    schedule = await rota.public_schedule(scope)
    today = scope.rt.clock.today()
    today_day, weeks = _weeks(schedule.slots, today)
    return Template(
        "public/display.html" if display else "public/board.html",
        context={
            **_chrome(info, "board"),
            "today": today_day,
            "weeks": weeks,
            "half_zh": HALF_ZH,
            "refresh": DISPLAY_REFRESH,
            "now": scope.rt.clock.now(),
            "empty": not schedule.slots,
            "upcoming": _upcoming(weeks),
            "board_url": links.absolute(scope.rt.settings.base_url, f"/t/{info.slug}/board"),
        },
    )


# --- progress lookup ------------------------------------------------------------------


@dataclass
class LookupForm:
    receipt_code: str = ""
    phone_last4: str = ""


def _lookup_page(
    info: TenantInfo,
    form: LookupForm,
    *,
    result: PublicProgress | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> Template:
    return Template(
        "public/lookup.html",
        context={
            **_chrome(info, "lookup"),
            "form": form,
            "result": result,
            "error": error,
            "error_field": field,
        },
        status_code=status,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
    )


@get("/t/{tenant:str}/lookup", include_in_schema=False)
async def lookup_page(request: Req, tenant: FromPath[str]) -> Template:
    _, info = await _tenant(request, tenant)
    return _lookup_page(info, LookupForm())


@post("/t/{tenant:str}/lookup", include_in_schema=False, status_code=200)
async def lookup_submit(
    request: Req,
    tenant: FromPath[str],
    data: Annotated[LookupForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    scope, info = await _tenant(request, tenant)
    form = LookupForm(data.receipt_code.strip()[:40], data.phone_last4.strip()[:8])
    try:
        result = await public.lookup_progress(
            scope, form.receipt_code, form.phone_last4, address=_address(request)
        )
    except TooManyRequests as exc:
        return _lookup_page(info, form, error=exc.message, status=429, retry_after=exc.retry_after)
    except (InvalidInput, NotFound) as exc:
        return _lookup_page(info, form, error=exc.message, field=exc.field, status=exc.status)
    form.receipt_code, form.phone_last4 = result.receipt_code, ""  # digits not sent back
    return _lookup_page(info, form, result=result)


class LookupBody(msgspec.Struct):
    """``POST /t/{tenant}/lookup.json``: the receipt code (回执号, e.g.
    ``261129-7K3M9QXA``) and the last four digits of the petitioner's phone."""

    receipt_code: Annotated[str, msgspec.Meta(max_length=40)]
    phone_last4: Annotated[str, msgspec.Meta(max_length=8)]


_LOOKUP_RESPONSES = {
    status: ResponseSpec(ErrorBody, generate_examples=False, description=text)
    for status, text in {
        400: "请求格式错误。",
        404: "机构不存在，或没有与回执号和手机号后四位相符的事项（两者不分）。",
        413: "请求内容过大。",
        422: "输入不正确；field 指出哪一项。",
        429: (
            f"查询过于频繁：同一地址 {public_throttle.LOOKUP_WINDOW // 60} 分钟内最多 "
            f"{public_throttle.LOOKUP_PER_ADDRESS} 次，同一回执号 "
            f"{public_throttle.LOOKUP_CODE_WINDOW // 60} 分钟内最多失败 "
            f"{public_throttle.LOOKUP_CODE_FAILURES} 次；见 Retry-After。"
        ),
        500: "系统内部错误。",
        503: "数据库暂时无法连接，或系统繁忙；见 Retry-After。",
    }.items()
}


@post(
    "/t/{tenant:str}/lookup.json",
    status_code=200,
    tags=["public"],
    summary="Progress of a matter by receipt code (public)",
    responses=_LOOKUP_RESPONSES,
)
async def lookup_json(
    request: Req, tenant: FromPath[str], data: JSONBody[LookupBody]
) -> PublicProgress:
    """The state and public milestones of one matter (no names, notes or staff), for
    whoever has its receipt code and the last four digits of its petitioner's phone.
    A wrong code and wrong digits answer the same 404. Rate-limited per client address
    and per receipt code (429 with Retry-After)."""
    scope, _ = await _tenant(request, tenant)
    return await public.lookup_progress(
        scope, data.receipt_code, data.phone_last4, address=_address(request)
    )


# --- online submission -----------------------------------------------------------------

FRESH = {"category": "general"}


async def _categories(scope: Scope, info: TenantInfo) -> list[tuple[str, str]]:
    return [(c.code, c.title_zh) for c in await sector.categories(scope, info)]


async def _form_schema(scope: Scope, info: TenantInfo, category: str) -> list[dict[str, Any]]:
    """The category's plugin fields as the desk's templates read them."""
    try:
        schema = await sector.form_schema(scope, info, category)
    except InvalidInput:
        return []
    return [
        {**msgspec.to_builtins(f), "options": [(str(v.key), v.name) for v in f.values or ()]}
        for f in schema
    ]


async def _submit_page(
    scope: Scope,
    info: TenantInfo,
    values: dict[str, Any],
    error: InvalidInput | Conflict | TooManyRequests | None = None,
) -> Template:
    schema = await _form_schema(scope, info, str(values.get("category") or "general"))
    form_labels = {f["code"]: f.get("description", f["code"]) for f in schema}
    errors: dict[str, str] = {}
    summary: list[dict[str, Any]] = []
    status, headers = 200, None
    if error is not None:
        status = error.status
        name = error_input(error.field)
        if name and not on_form(name, form_labels, 0):
            name = None
        label = label_of(name, form_labels) if name else ""
        message = error_message(error.code, error.message, error.field, label)
        if name:
            errors[name] = message
        summary.append({"input": name, "label": label, "message": message})
        if isinstance(error, TooManyRequests):
            headers = {"Retry-After": str(error.retry_after)}
    return Template(
        "public/submit.html",
        context={
            **_chrome(info, "submit"),
            "values": values,
            "errors": errors,
            "summary": summary,
            "focus": next(iter(errors), "summary" if summary else None),
            "category_options": await _categories(scope, info),
            "form_fields": schema,
            "fid": field_id,
            "honeypot": HONEYPOT,
        },
        status_code=status,
        headers=headers,
    )


@get("/t/{tenant:str}/submit", include_in_schema=False)
async def submit_page(request: Req, tenant: FromPath[str]) -> Template:
    scope, info = await _tenant(request, tenant)
    return await _submit_page(scope, info, dict(FRESH))


@get("/t/{tenant:str}/submit/fields", include_in_schema=False)
async def submit_fields(
    request: Req, tenant: FromPath[str], category: FromQuery[str] = "general"
) -> Template:
    """The plugin fields of a category (htmx, on choosing it) — the desk's fragment."""
    scope, info = await _tenant(request, tenant)
    return Template(
        "desk/form_fields.html",
        context={
            "form_fields": await _form_schema(scope, info, category[:63]),
            "values": {},
            "errors": {},
            "fid": field_id,
        },
    )


CHECKED = frozenset({"visitor.id_number", "visitor.phone"})


@post("/t/{tenant:str}/submit/check", include_in_schema=False, status_code=200)
async def submit_check(request: Req, tenant: FromPath[str], field: FromQuery[str]) -> Template:
    """The ID number or phone checked as it is typed (htmx POST: a number never goes
    into a URL) — its format only: unlike the desk's, it never looks anyone up."""
    scope, _ = await _tenant(request, tenant)
    if field not in CHECKED:
        raise InvalidInput("invalid_field", "无法检查该字段。", field="field")
    form = await request.form()
    value = form.get(field)
    result: dict[str, Any] | None = None
    if isinstance(value, str) and value.strip():
        try:
            if field == "visitor.id_number":
                number = identity.normalize_id_number(value, today=scope.rt.clock.today())
                born = identity.birth_date_from_id(number)
                text = f"格式正确：{born.year}年{born.month}月{born.day}日出生"
            else:
                identity.normalize_phone(value)
                text = "格式正确"
            result = {"ok": True, "text": text}
        except InvalidInput as exc:
            result = {"ok": False, "text": exc.message}
    return Template("desk/check.html", context={"result": result, "own": False})


@post(
    "/t/{tenant:str}/submit",
    include_in_schema=False,
    status_code=200,
    request_max_body_size=SUBMIT_MAX_BODY,
)
async def submit(request: Req, tenant: FromPath[str]) -> Template:
    """网上信访: the desk's checks and registration service; a refusal re-renders the
    form with every value and the message at its field, and saves nothing. A filled
    honeypot is answered like a success, without a receipt code, and saves nothing."""
    scope, info = await _tenant(request, tenant)
    form = await request.form()
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    values = {k: v for k, v in pairs if public.allowed(k)}
    address = _address(request)
    try:
        await public_throttle.submit_attempt(scope, address)
        if any(k == HONEYPOT and v.strip() for k, v in pairs):
            await public_throttle.submitted(scope, address)
            log.warning("public submission refused: honeypot filled (tenant %s)", info.slug)
            return Template(
                "public/submitted.html", context={**_chrome(info, "submit"), "receipt": None}
            )
        body = unflatten([(k, v) for k, v in pairs if public.allowed(k)])
        receipt = await public.submit_online(scope, body)
    except (InvalidInput, Conflict, TooManyRequests) as exc:
        return await _submit_page(scope, info, values, exc)
    await public_throttle.submitted(scope, address)
    return Template(
        "public/submitted.html", context={**_chrome(info, "submit"), "receipt": receipt}
    )


PUBLIC = [
    board,
    lookup_page,
    lookup_submit,
    lookup_json,
    submit_page,
    submit_fields,
    submit_check,
    submit,
]
