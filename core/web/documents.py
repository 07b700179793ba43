"""/api/v1/cases/{id}/documents — the case's notices and slips as PDF — and
/api/v1/tenant/document-templates, the wording a tenant's admin may change; the case
page's form recording a printed notice as given (POST /cases/{id}/documents/{kind}/issue)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, Router, get, post, put
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta, Struct

from core import links
from core.errors import DomainError, NotFound
from core.schemas import Id, NoticeChannel, Strict
from core.services import documents
from core.services.cases import CaseDetail
from core.services.documents import DocumentItem, DocumentTemplate
from core.validation import convert
from core.web.auth import CallerScope, requires_admin, requires_registrar, requires_staff
from core.web.case_actions import form_values
from core.web.pages import case_context

Kind = Annotated[str, Parameter(max_length=63, description="文书种类，如 receipt、opinion")]
PdfName = Annotated[
    str, Parameter(max_length=67, description="文书种类加 .pdf，如 receipt.pdf、opinion.pdf")
]


class DocumentIssueIn(Strict):
    """书面告知 with a printed notice: how it was given and on which day (default today)."""

    channel: NoticeChannel
    given_on: date | None = None
    version: int | None = None


class DocumentTemplateIn(Struct, forbid_unknown_fields=True):
    """The tenant's wording of one kind (Jinja2, sandboxed); null or empty: the default."""

    template: Annotated[str, Meta(max_length=8000)] | None = None


class CaseDocumentController(Controller):
    path = "/cases/{case_id:int}/documents"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_documents(self, sc: CallerScope, case_id: Id) -> list[DocumentItem]:
        """The documents of the case: which can be produced now (available) and where."""
        return await documents.list_documents(sc, case_id)

    @get("/{document:str}", media_type="application/pdf")
    async def document_pdf(
        self, sc: CallerScope, case_id: Id, document: FromPath[PdfName]
    ) -> Response[bytes]:
        """One document as PDF (Noto CJK embedded). 404: hidden case or unknown kind;
        409 ``document_not_available``: the case has not reached the step it records."""
        if not document.endswith(".pdf"):
            raise NotFound("document_not_found", "文书地址应以 .pdf 结尾。", field="document")
        out = await documents.render_document(sc, case_id, document.removesuffix(".pdf"))
        return Response(
            out.pdf,
            media_type="application/pdf",
            headers={
                "content-disposition": f"inline; filename*=UTF-8''{quote(out.filename)}",
                "cache-control": "no-store",
            },
        )

    @post("/{kind:str}/issue", guards=[requires_registrar], status_code=HTTP_200_OK)
    async def issue(
        self, sc: CallerScope, case_id: Id, kind: FromPath[Kind], data: JSONBody[DocumentIssueIn]
    ) -> CaseDetail:
        """书面告知 by this notice (受理 / 不予受理告知书): recorded as given (channel,
        day), which meets the 15-day notice clock; the PDF then carries that day."""
        return await documents.issue_notice(
            sc, case_id, kind, channel=data.channel, given_on=data.given_on, version=data.version
        )


class DocumentTemplateController(Controller):
    """The wording of each document kind for this tenant, for admins."""

    path = "/tenant/document-templates"
    guards = [requires_admin]  # noqa: RUF012

    @get("/")
    async def list_templates(self, sc: CallerScope) -> list[DocumentTemplate]:
        return await documents.templates(sc)

    @put("/{kind:str}")
    async def set_template(
        self, sc: CallerScope, kind: FromPath[Kind], data: JSONBody[DocumentTemplateIn]
    ) -> DocumentTemplate:
        """Replace the wording of ``kind`` (tried first; unsafe or broken: 422)."""
        return await documents.set_template(sc, kind, data.template)


@post(
    "/cases/{case_id:int}/documents/{kind:str}/issue",
    include_in_schema=False,
    guards=[requires_staff],
    status_code=303,
)
async def issue_page(
    request: Request[Any, Any, Any], sc: CallerScope, case_id: Id, kind: FromPath[Kind]
) -> Template | Redirect:
    """The case page's 「登记已送达」: the same service as the API's issue. Success: back
    to the case page; a refusal: the page again with the message at that form."""
    form = await request.form()
    values = form_values(list(form.multi_items()))
    try:
        data = convert(values, DocumentIssueIn, strict=False)
        await documents.issue_notice(
            sc, case_id, kind, channel=data.channel, given_on=data.given_on, version=data.version
        )
    except DomainError as exc:
        if exc.status == 404:
            raise  # another tenant's, hidden or missing case; unknown kind: the 404 page
        context = await case_context(sc, case_id)
        context.update(
            failed=f"issue:{kind}", error=exc.message, error_field=exc.field, form=values
        )
        return Template("case.html", context=context, status_code=exc.status)
    return Redirect(f"{links.case_url(case_id)}?done=notify", status_code=303)


DOCUMENT_PAGES = [issue_page]


def documents_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[CaseDocumentController, DocumentTemplateController],
        tags=["documents"],
    )
