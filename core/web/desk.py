"""The reception desk's registration page ``/cases/new`` (登记), keyboard-first.

A plain HTML form whose input names are the API's JSON paths; it is registered by the
same service as ``POST /api/v1/cases``, so the desk refuses exactly what the API refuses
and shows the API's message next to its field. htmx fragments fill in what depends on
what was typed: a category's plugin fields, the representatives of a group visit, the
check of an ID number or phone and the person's earlier matters (重复访). Personal
numbers only ever travel in POST bodies, never in a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from core.domain import identity
from core.domain.rulepacks import RulePack
from core.errors import Conflict, DomainError, InvalidInput
from core.plugins import TenantInfo
from core.principal import ROLE_NAMES_ZH, Principal
from core.schemas import CHANNEL_ZH, LEGAL_CATEGORY_ZH, PURPOSE_ZH, CaseIn
from core.services import cases, departments, sector, tenants, users, visitors
from core.services.answers import VisitorMatter
from core.services.cases import CaseDetail
from core.services.scope import Scope
from core.validation import convert
from core.web.auth import CallerScope, requires_registrar
from core.web.deskform import (
    error_input,
    error_message,
    flatten,
    label_of,
    on_form,
    unflatten,
)

NEW = "/cases/new"
FRESH = {
    "channel": "visit",
    "headcount": "1",
    "category": "general",
    "purpose": "personal",
    "legal_category": "claim",
}
# The desk offers a visit first: most matters registered at a desk walk in.
CHANNELS = ["visit", "letter", "phone", "online"]
MAX_PEOPLE = 5
"""At most this many known people per check (one phone may be shared by a family)."""
MAX_MATTERS = 10

Req = Request[Principal, Any, Any]


# --- Service calls: the only place that knows the services' signatures. ------------


async def _tenant(sc: Scope) -> TenantInfo:
    return await tenants.get_tenant(sc)


async def _categories(sc: Scope, tenant: TenantInfo) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(c) for c in await sector.categories(sc, tenant)]


async def _form_schema(sc: Scope, tenant: TenantInfo, category: str) -> list[dict[str, Any]]:
    try:
        schema = await sector.form_schema(sc, tenant, category)
    except InvalidInput:  # an unknown category has no fields; registering names it
        return []
    return [  # the templates read the answer's keys, left-out ones staying out
        {**msgspec.to_builtins(f), "options": [(str(v.key), v.name) for v in f.values or ()]}
        for f in schema
    ]


async def _accusable(sc: Scope) -> dict[str, list[tuple[str, str]]]:
    """Whom a 检举控告 may name: the tenant's active staff and its departments."""
    people = [(str(u.id), u.display_name) for u in await users.list_users(sc) if u.active]
    offices = [(str(d.id), d.name) for d in await departments.list_departments(sc)]
    return {"accused_users": people, "accused_departments": offices}


async def _register(sc: Scope, data: CaseIn) -> CaseDetail:
    return await cases.register_case(sc, data)


@dataclass(frozen=True)
class KnownPerson:
    """A person already on file, as the repeat panel shows them (``desk/repeat.html``)."""

    id: int
    name: str
    id_number: str | None
    phone: str | None
    count: int
    """How many matters of theirs this user may see."""
    cases: list[VisitorMatter]
    """The newest of them first, at most ``MAX_MATTERS``."""


async def _known_people(sc: Scope, id_number: str | None, phone: str | None) -> list[KnownPerson]:
    """People of the tenant with this ID number or phone (keyed-hash lookup), each with
    the matters *this user* may see (an accused never learns of the matter)."""
    found: dict[int, None] = {}  # ordered: the ID number's match first
    for by_id, by_phone in ((id_number, None), (None, phone)):
        if by_id or by_phone:
            for v in await visitors.list_visitors(
                sc, limit=MAX_PEOPLE, id_number=by_id, phone=by_phone
            ):
                found.setdefault(v.id, None)
    people = []
    for vid in list(found)[:MAX_PEOPLE]:
        v = await visitors.get_visitor(sc, vid)  # its matters oldest first
        people.append(
            KnownPerson(
                id=v.id,
                name=v.name,
                id_number=v.id_number,
                phone=v.phone,
                count=len(v.cases),
                cases=v.cases[::-1][:MAX_MATTERS],
            )
        )
    return people


def _pack(sc: Scope, tenant: TenantInfo) -> RulePack:
    pack: RulePack = sc.rt.rule_pack(tenant.rule_pack)
    return pack


# --- Rendering ---------------------------------------------------------------------


def field_id(name: str) -> str:
    """An element id for an input name (``visitor.id_number`` → ``f-visitor-id_number``)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


def _chrome(sc: Scope, tenant: TenantInfo) -> dict[str, Any]:
    p = sc.actor
    return {
        "tenant": tenant,
        "user": p,
        "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(p.roles)],
        "fid": field_id,
    }


def _headcount(values: dict[str, Any]) -> int:
    text = str(values.get("headcount") or "").strip()
    return int(text) if text.isdigit() and len(text) <= 6 else 0


def _group(sc: Scope, tenant: TenantInfo, values: dict[str, Any]) -> dict[str, Any] | None:
    """The representatives a group visit asks for (None: not a group visit)."""
    pack = _pack(sc, tenant)
    headcount = _headcount(values)
    if headcount < pack.group_visit_min_headcount:
        return None
    return {
        "headcount": headcount,
        "min": pack.group_visit_min_headcount,
        "limit": pack.representative_limit(headcount),
        "pack": f"{pack.name} {pack.title_zh}",
    }


def _valid(kind: str, value: Any, today: Any) -> str | None:
    """The canonical number, or None when blank or invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        if kind == "id_number":
            return identity.normalize_id_number(value, today=today)
        return identity.normalize_phone(value)
    except InvalidInput:
        return None


async def _repeat(sc: Scope, values: dict[str, Any]) -> list[KnownPerson]:
    today = sc.rt.clock.today()
    id_number = _valid("id_number", values.get("visitor.id_number"), today)
    phone = _valid("phone", values.get("visitor.phone"), today)
    if id_number is None and phone is None:
        return []
    return await _known_people(sc, id_number, phone)


async def _page(
    sc: Scope,
    tenant: TenantInfo,
    values: dict[str, Any],
    error: DomainError | None = None,
    status: int = 200,
) -> Template:
    categories = await _categories(sc, tenant)
    schema = await _form_schema(sc, tenant, str(values.get("category") or "general"))
    form_labels = {f["code"]: f.get("description", f["code"]) for f in schema}
    group = _group(sc, tenant, values)
    errors: dict[str, str] = {}
    summary: list[dict[str, Any]] = []
    if error is not None:
        name = error_input(error.field)
        if name and not on_form(name, form_labels, group["limit"] if group else 0):
            name = None  # e.g. received_at: said in the summary only
        label = label_of(name, form_labels) if name else ""
        message = error_message(error.code, error.message, error.field, label)
        if name:
            errors[name] = message
        summary.append({"input": name, "label": label, "message": message})
    return Template(
        "case_new.html",
        context={
            **_chrome(sc, tenant),
            "values": values,
            "errors": errors,
            "summary": summary,
            # The first refused input, else the summary of a refusal, else the name.
            "focus": next(iter(errors), "summary" if summary else "visitor.name"),
            "categories": categories,
            "channels": [(c, CHANNEL_ZH[c]) for c in CHANNELS],
            "purposes": list(PURPOSE_ZH.items()),
            "legal_categories": list(LEGAL_CATEGORY_ZH.items()),
            "form_fields": schema,
            "group": group,
            "people": await _repeat(sc, values),
            "category_options": [(c["code"], c["title_zh"]) for c in categories],
            "category_zh": {c["code"]: c["title_zh"] for c in categories},
            "accusation": _accusation(values),
            **await _accusable(sc),
        },
        status_code=status,
    )


ACCUSED_LISTS = ("user_ids", "department_ids")
"""``accused`` fields that are lists: a multiple select sends one value per choice."""


def _accusation(values: dict[str, Any]) -> bool:
    """Whether the form is a 检举控告 (its accused fields are shown)."""
    return "accusation" in (values.get("purpose"), values.get("legal_category"))


def _with_accused_lists(body: dict[str, Any]) -> dict[str, Any]:
    """One chosen person or department is still a list in the API's body."""
    accused = body.get("accused")
    if isinstance(accused, dict):
        for key in ACCUSED_LISTS:
            if key in accused and not isinstance(accused[key], list):
                accused[key] = [accused[key]]
    return body


async def _posted(request: Req) -> list[tuple[str, str]]:
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


# --- Handlers ----------------------------------------------------------------------


@get(NEW, include_in_schema=False, guards=[requires_registrar])
async def new_case(sc: CallerScope) -> Template:
    return await _page(sc, await _tenant(sc), dict(FRESH))


@post(NEW, include_in_schema=False, guards=[requires_registrar], status_code=200)
async def register_case(request: Req, sc: CallerScope) -> Template | Redirect:
    """登记: the same checks and service as the API; on a refusal the form comes back
    with every value as typed and the message at its field, and nothing is saved."""
    tenant = await _tenant(sc)
    pairs = await _posted(request)
    body: dict[str, Any] = {}
    try:
        body = _with_accused_lists(unflatten(pairs))
        if not _accusation(dict(pairs)):
            body.pop("accused", None)  # hidden fields: not what the clerk registers
        case = await _register(sc, convert(body, CaseIn, strict=False))
    except (InvalidInput, Conflict) as exc:
        values = flatten(body) if body else {k: v for k, v in pairs if not k.startswith("_")}
        return await _page(sc, tenant, values, exc, status=exc.status)
    return Redirect(f"/cases/{case.id}?registered=1", status_code=303)


@get(f"{NEW}/fields", include_in_schema=False, guards=[requires_registrar])
async def form_fields(sc: CallerScope, category: FromQuery[str] = "general") -> Template:
    """The plugin fields of a category (htmx, on choosing the category)."""
    tenant = await _tenant(sc)
    schema = await _form_schema(sc, tenant, category[:63])
    return Template(
        "desk/form_fields.html",
        context={"form_fields": schema, "values": {}, "errors": {}, "fid": field_id},
    )


@post(
    f"{NEW}/representatives", include_in_schema=False, guards=[requires_registrar], status_code=200
)
async def representatives(request: Req, sc: CallerScope) -> Template:
    """The representative rows for the headcount typed (htmx; the rows typed so far are
    posted and come back as they were)."""
    tenant = await _tenant(sc)
    values = dict(await _posted(request))
    return Template(
        "desk/representatives.html",
        context={
            "group": _group(sc, tenant, values),
            "values": values,
            "errors": {},
            "fid": field_id,
        },
    )


CHECKED = re.compile(r"(visitor|representatives\[\d{1,2}\])\.(id_number|phone)")


@post(f"{NEW}/check", include_in_schema=False, guards=[requires_registrar], status_code=200)
async def check(request: Req, sc: CallerScope, field: FromQuery[str]) -> Template:
    """An ID number or phone checked as it is typed (htmx POST: a personal number never
    goes into a URL). For the petitioner's own numbers the answer also carries, out of
    band, the person's earlier matters this user may see (重复访)."""
    m = CHECKED.fullmatch(field)
    if m is None:
        raise InvalidInput("invalid_field", "无法检查该字段。", field="field")
    values = dict(await _posted(request))
    value = values.get(field, "")
    result: dict[str, Any] | None = None
    if value.strip():
        try:
            if m[2] == "id_number":
                number = identity.normalize_id_number(value, today=sc.rt.clock.today())
                born = identity.birth_date_from_id(number)
                gender = "男" if identity.gender_from_id(number) == "male" else "女"
                text = f"有效：{born.year}年{born.month}月{born.day}日出生，{gender}"
            else:
                phone = identity.normalize_phone(value)
                text = "有效：" + ("固定电话 " + phone if "-" in phone else "手机号码")
            result = {"ok": True, "text": text}
        except InvalidInput as exc:
            result = {"ok": False, "text": exc.message}
    own = m[1] == "visitor"
    people = await _repeat(sc, values) if own else []
    categories = await _categories(sc, await _tenant(sc)) if people else []
    return Template(
        "desk/check.html",
        context={
            "result": result,
            "own": own,
            "people": people,
            "category_zh": {c["code"]: c["title_zh"] for c in categories},
        },
    )


DESK = [new_case, register_case, form_fields, representatives, check]
