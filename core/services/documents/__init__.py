"""Documents (文书): the notices and slips a case produces, as PDF.

``list_documents`` says which kinds the case has now (built-in and the plugins'
``xinfang_documents``), ``render_document`` sets one in type (``typeset``: Typst, Noto
CJK embedded) with the tenant's wording (``wording``: sandboxed Jinja2, defaults here,
a tenant's own in its settings) and records the export in the audit log;
``issue_notice`` records a printed notice as given (``lifecycle.record_notice``: the
15-day notice clock is met). ``templates`` / ``set_template`` are the admin's view of
the wording."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from msgspec import Struct

from core.db.tables import Tenant
from core.errors import Conflict, InvalidInput, NotFound
from core.plugin_api.types import TenantInfo
from core.services import audit, cases, deadlines, departments, sector, users
from core.services.cases import CaseDetail
from core.services.documents.catalog import (
    KINDS,
    Facts,
    Kind,
    date_of,
    plugin_values,
    sample_values,
    values_for,
    variables_of,
)
from core.services.documents.typeset import FontsMissing, Page, font_dir, render_pdf
from core.services.documents.wording import DEFAULTS, from_plugin, render
from core.services.lifecycle import Notice, record_notice
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.settings import TIMEZONE
from core.timefmt import zh_date

__all__ = [
    "KINDS",
    "DocumentItem",
    "DocumentTemplate",
    "FontsMissing",
    "RenderedDocument",
    "font_dir",
    "issue_notice",
    "list_documents",
    "pages_of",
    "render_document",
    "set_template",
    "templates",
]

SETTINGS_KEY = "document_templates"


class DocumentItem(Struct):
    """A document the case may have: whether it can be produced now, and where."""

    kind: str
    title_zh: str
    available: bool
    url: str
    notice: bool
    """A written notice to the petitioner: issuing it meets the 15-day notice clock."""
    plugin: str | None
    issued_on: date | None = None
    """The day this notice was recorded as given (``issue``), if it was."""


class DocumentTemplate(Struct):
    """A kind's wording: the shipped default, the tenant's own (if any), the variables."""

    kind: str
    title_zh: str
    default: str
    template: str | None
    variables: list[str]
    plugin: str | None


class RenderedDocument(Struct):
    kind: str
    title_zh: str
    filename: str
    pdf: bytes


class _Doc(Struct):
    code: str
    title_zh: str
    default: str
    plugin: str | None
    builtin: Kind | None


async def _kinds(scope: Scope, tenant: TenantInfo) -> dict[str, _Doc]:
    out = {k.code: _Doc(k.code, k.title_zh, DEFAULTS[k.code], None, k) for k in KINDS.values()}
    for d in await sector.documents(scope, tenant):
        if d.code not in out:  # a built-in kind keeps its meaning
            out[d.code] = _Doc(d.code, d.title_zh, from_plugin(d.template), d.plugin, None)
    return out


def _overrides(tenant: TenantInfo) -> dict[str, str]:
    raw = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    return {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}


def url_of(case_id: int, kind: str) -> str:
    return f"/api/v1/cases/{case_id}/documents/{kind}.pdf"


async def _facts(scope: Scope, case: CaseDetail, tenant: TenantInfo) -> Facts:
    clocks = await deadlines.clocks_of_case(scope, case.id)
    names = {d.id: d.name for d in await departments.list_departments(scope)}
    base = scope.rt.settings.base_url
    return Facts(
        case=case,
        tenant=tenant,
        clocks=clocks,
        department_zh=names,
        user_department={u.id: u.department_id for u in await users.list_users(scope)},
        today=scope.rt.clock.now().astimezone(TIMEZONE).date(),
        lookup_url=f"{base}/t/{tenant.slug}/lookup",
    )


async def _values(scope: Scope, f: Facts, doc: _Doc) -> dict[str, Any] | None:
    if doc.builtin is not None:
        return await values_for(scope, f, doc.builtin)
    values = plugin_values(f)
    needed = placeholders_of(doc.default)
    return values if all(values.get(n) for n in needed) else None


def placeholders_of(jinja: str) -> set[str]:
    return set(re.findall(r"\{\{ (\w+) \}\}", jinja))


async def documents_of(scope: Scope, case: CaseDetail) -> list[DocumentItem]:
    """Every document kind of the tenant for ``case`` (already read by the caller),
    available or not."""
    tenant = await get_tenant(scope)
    f = await _facts(scope, case, tenant)
    out = []
    for doc in (await _kinds(scope, tenant)).values():
        available = await _values(scope, f, doc) is not None
        notice = doc.builtin.notice if doc.builtin else False
        out.append(
            DocumentItem(
                doc.code,
                doc.title_zh,
                available,
                url_of(case.id, doc.code),
                notice,
                doc.plugin,
                _issued_on(case, doc.code) if notice else None,
            )
        )
    return out


async def list_documents(scope: Scope, case_id: int) -> list[DocumentItem]:
    """``GET /cases/{id}/documents``: 404 when the case is hidden from the caller."""
    return await documents_of(scope, await cases.get_case(scope, case_id))


def _not_available(doc: _Doc) -> Conflict:
    return Conflict(
        "document_not_available",
        f"该事项目前不能出具“{doc.title_zh}”：尚未进行相应的办理步骤。",
        field="kind",
        kind=doc.code,
    )


async def _prepare(
    scope: Scope, case_id: int, kind: str
) -> tuple[CaseDetail, TenantInfo, Facts, _Doc, dict[str, Any]]:
    case = await cases.get_case(scope, case_id)  # 404 first: another tenant's, hidden
    tenant = await get_tenant(scope)
    docs = await _kinds(scope, tenant)
    doc = docs.get(kind)
    if doc is None:
        raise NotFound("document_not_found", f"没有“{kind}”这种文书。", field="kind")
    f = await _facts(scope, case, tenant)
    values = await _values(scope, f, doc)
    if values is None:
        raise _not_available(doc)
    return case, tenant, f, doc, values


def _page(tenant: TenantInfo, doc: _Doc, case: CaseDetail, paragraphs: list[str], on: date) -> Page:
    addressee = ""
    if paragraphs and paragraphs[0].endswith(("：", ":")) and len(paragraphs[0]) <= 60:
        addressee, paragraphs = paragraphs[0].rstrip("：:"), paragraphs[1:]
    return Page(
        title=doc.title_zh,
        number=f"登记编号：{case.receipt_code}",
        addressee=addressee,
        paragraphs=paragraphs,
        signer=tenant.name,
        date=zh_date(on),
    )


def _page_of(
    tenant: TenantInfo, doc: _Doc, case: CaseDetail, f: Facts, values: dict[str, Any]
) -> tuple[Page, date]:
    """The words of ``doc`` for the case, and the date it bears (the step's, the day
    the notice was given, or today)."""
    source = _overrides(tenant).get(doc.code, doc.default)
    paragraphs = render(source, values, field=f"document_templates.{doc.code}")
    on = f.today
    if doc.builtin is not None:
        on = date_of(f, doc.builtin)
    issued = _issued_on(case, doc.code)
    if issued is not None:
        on = issued
    return _page(tenant, doc, case, paragraphs, on), on


async def pages_of(scope: Scope, case: CaseDetail, tenant: TenantInfo) -> list[tuple[str, Page]]:
    """Every document the case (already read by the caller) has now, as pages ready to
    set — the archive volume's content — in the order of ``documents_of``."""
    f = await _facts(scope, case, tenant)
    out = []
    for doc in (await _kinds(scope, tenant)).values():
        values = await _values(scope, f, doc)
        if values is not None:
            out.append((doc.code, _page_of(tenant, doc, case, f, values)[0]))
    return out


async def render_document(scope: Scope, case_id: int, kind: str) -> RenderedDocument:
    """The PDF of ``kind`` for the case — 404 hidden case or unknown kind, 409 when the
    case has not reached the step it records — and the export in the audit log (who
    printed which document of which case; the personal data it carries by field)."""
    case, tenant, f, doc, values = await _prepare(scope, case_id, kind)
    page, on = _page_of(tenant, doc, case, f, values)
    pdf = await render_pdf(page, on=on)
    async with scope.tx():
        await audit.record_export(
            scope,
            # The case as target, like every row about a case (hidden from the accused);
            # which document, and the personal data it prints, as the fields.
            what=f"case:{case.id}",
            rows=1,
            fields=[f"document.{kind}", *(["visitor.name"] if values.get("visitor_name") else [])],
        )
    return RenderedDocument(kind, doc.title_zh, f"{case.receipt_code}-{kind}.pdf", pdf)


def _issued_on(case: CaseDetail, kind: str) -> date | None:
    """The day the notice ``kind`` was recorded as given, if it was."""
    for e in reversed(case.events):
        document = e.data.get("document") if e.kind == "notify" else None
        if isinstance(document, dict) and document.get("kind") == kind:
            return date.fromisoformat(str(e.data["given_on"]))
    return None


async def issue_notice(
    scope: Scope,
    case_id: int,
    kind: str,
    *,
    channel: str,
    given_on: date | None = None,
    version: int | None = None,
) -> CaseDetail:
    """书面告知 with this document: recorded as the ``notify`` step (channel, day, the
    document), which meets the 15-day notice clock. Only a notice kind (受理 / 不予受理
    告知书) that the case has now; refusals as ``record_notice`` makes them."""
    case, _tenant, f, doc, _ = await _prepare(scope, case_id, kind)
    if doc.builtin is None or not doc.builtin.notice:
        raise Conflict(
            "document_not_a_notice",
            f"“{doc.title_zh}”不是书面告知文书，不能作为告知登记。",
            field="kind",
        )
    notice = Notice(
        channel,
        given_on or f.today,
        document={"kind": kind, "title_zh": doc.title_zh},
    )
    return await record_notice(scope, case.id, notice, version=version)


# ---- the wording, as the tenant's admin sees and changes it ----------------------------


async def templates(scope: Scope) -> list[DocumentTemplate]:
    tenant = await get_tenant(scope)
    own = _overrides(tenant)
    return [
        DocumentTemplate(
            d.code,
            d.title_zh,
            d.default,
            own.get(d.code),
            variables_of(d.code),
            d.plugin,
        )
        for d in (await _kinds(scope, tenant)).values()
    ]


async def set_template(scope: Scope, kind: str, template: str | None) -> DocumentTemplate:
    """Replace the tenant's wording of ``kind`` (None or empty: back to the default).
    The template is tried with stand-in values first: broken syntax, a value the
    document does not have, or a reach past the sandbox is refused (422), nothing saved."""
    tenant = await get_tenant(scope)
    docs = await _kinds(scope, tenant)
    doc = docs.get(kind)
    if doc is None:
        raise NotFound("document_not_found", f"没有“{kind}”这种文书。", field="kind")
    text = (template or "").strip()
    if text and not render(text, sample_values(kind)):
        raise InvalidInput("template_empty", "模板生成的文字为空。", field="template")
    async with scope.tx():
        row = (
            await Tenant.select(Tenant.settings)
            .where(Tenant.id == scope.tenant_id)
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("tenant_not_found", "机构不存在。")
        settings = dict(row["settings"] or {})
        own = dict(settings.get(SETTINGS_KEY) or {})
        if text:
            own[kind] = text
        else:
            own.pop(kind, None)
        settings[SETTINGS_KEY] = own
        await Tenant.update({Tenant.settings: settings}).where(Tenant.id == scope.tenant_id)
        await audit.append(
            scope.rt,
            scope.tenant_id,
            "tenant.settings_changed",
            target=f"tenant:{scope.tenant_id}",
            detail={"keys": [f"{SETTINGS_KEY}.{kind}"]},
        )
    return DocumentTemplate(
        doc.code, doc.title_zh, doc.default, text or None, variables_of(kind), doc.plugin
    )
