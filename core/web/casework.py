"""Case work in the browser beyond the lifecycle steps: 查看完整信息 (reveal a
petitioner's numbers with a reason), attachments (upload, download) and the inbox's
read state — the same services as the JSON API (``core.web.casework_api``).

Forms post with the session cookie and the CSRF token; htmx swaps the reveal block.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.response import File, Redirect, Template

from core import links
from core.errors import DomainError, InvalidInput, NotFound
from core.schemas import Id
from core.services import attachments, cases, inbox
from core.services.attachments import AttachmentOut
from core.services.reveal import reveal_visitor
from core.services.scope import Scope
from core.services.tenant_settings import ATTACHMENT_LIMIT_MB
from core.web.auth import CallerScope, requires_staff
from core.web.pages import case_context

Req = Request[Any, Any, Any]
UPLOAD_BODY_LIMIT = ATTACHMENT_LIMIT_MB * 1024 * 1024 + 64 * 1024
"""The largest upload body read at all (the file at the highest tenant limit and the
form around it); beyond it Litestar answers 413 ``body_too_large`` before parsing."""
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}


def _is_htmx(request: Req) -> bool:
    return request.headers.get("hx-request") == "true"


# --- 查看完整信息 ------------------------------------------------------------------------


@post(
    "/cases/{case_id:int}/reveal", include_in_schema=False, guards=[requires_staff], status_code=200
)
async def reveal_page(request: Req, sc: CallerScope, case_id: Id) -> Template:
    """The petitioner's numbers in clear, for a reason (the person block, by htmx; the
    whole page without it). A missing reason: 422 with the message at the field."""
    form = await request.form()
    fields = [v for v in form.getall("fields", []) if isinstance(v, str)]
    reason = str(form.get("reason") or "")
    values: dict[str, Any] = {"fields": fields, "reason": reason}
    case = await cases.get_case(sc, case_id)  # 404: other tenant's, hidden, missing
    revealed = None
    error: str | None = None
    error_field: str | None = None
    status = 200
    if case.visitor is None:
        raise NotFound("visitor_not_found", "该事项没有登记信访人。")
    try:
        revealed = await reveal_visitor(sc, case.visitor.id, fields, reason, case_id=case_id)
    except InvalidInput as exc:
        error, error_field, status = exc.message, exc.field, exc.status
    extra = {
        "revealed": revealed,
        "reveal_error": error,
        "reveal_error_field": error_field,
        "reveal_form": values,
    }
    if _is_htmx(request):
        return Template(
            "case/person.html",
            context={"case": case, **extra},
            status_code=status,
            headers=NO_STORE,
        )
    context = await case_context(sc, case_id)
    context.update(extra)
    return Template("case.html", context=context, status_code=status, headers=NO_STORE)


# --- attachments -------------------------------------------------------------------------


async def read_upload(sc: Scope, upload: Any) -> tuple[bytes | None, str, int]:
    """The uploaded file's bytes (at most the tenant's limit + 1, so a larger one is
    told as too large), its name and that limit."""
    limit = await attachments.max_bytes(sc)
    if not isinstance(upload, UploadFile):
        return None, "", limit  # the service says so, once the case is found
    data = await upload.read(limit + 1)
    return data, upload.filename or "", limit


def download(att: AttachmentOut, path: Any) -> File:
    """The bytes as a download, never shown inline nor sniffed by the browser."""
    ascii_name = f"attachment-{att.id}{attachments.EXTENSIONS[att.content_type]}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(att.filename)}"
    return File(
        path=path,
        media_type=att.content_type,
        filename=ascii_name,
        content_disposition_type="attachment",
        headers={
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
            "cache-control": "no-store, private",
        },
    )


@post(
    "/cases/{case_id:int}/attachments",
    include_in_schema=False,
    guards=[requires_staff],
    status_code=303,
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def upload_page(request: Req, sc: CallerScope, case_id: Id) -> Template | Redirect:
    """Add a scanned letter or evidence; a refused file comes back with its message at
    the file input (nothing stored)."""
    form = await request.form()
    try:
        data, name, limit = await read_upload(sc, form.get("file"))
        stored = await attachments.add_attachment(sc, case_id, data, name, limit=limit)
    except DomainError as exc:
        if exc.status == 404:
            raise
        context = await case_context(sc, case_id)
        context.update(attachment_error=exc.message)
        return Template("case.html", context=context, status_code=exc.status)
    flag = "added" if stored.created else "same"
    return Redirect(f"{links.case_url(case_id)}?attached={flag}#attachments", status_code=303)


@get(
    "/cases/{case_id:int}/attachments/{attachment_id:int}",
    include_in_schema=False,
    guards=[requires_staff],
)
async def download_page(sc: CallerScope, case_id: Id, attachment_id: Id) -> File:
    att, path = await attachments.open_attachment(sc, case_id, attachment_id)
    return download(att, path)


# --- the inbox's read state --------------------------------------------------------------


def _local(link: str | None) -> str | None:
    """A message's link if it is a path of this site (never another origin)."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


@get(f"{links.INBOX}/{{message_id:int}}/open", include_in_schema=False, guards=[requires_staff])
async def open_message(sc: CallerScope, message_id: Id) -> Redirect:
    """Follow a message's link, marking it read (someone else's message: 404)."""
    message = await inbox.mark_read(sc, message_id)
    target = _local(message.link) or f"{links.INBOX}?read={message.id}"
    return Redirect(target, status_code=303)


@post(f"{links.INBOX}/read-all", include_in_schema=False, guards=[requires_staff], status_code=303)
async def read_all(sc: CallerScope) -> Redirect:
    """全部标为已读."""
    marked = await inbox.mark_all_read(sc)
    return Redirect(f"{links.INBOX}?marked={marked}", status_code=303)


@post(
    f"{links.INBOX}/{{message_id:int}}/read",
    include_in_schema=False,
    guards=[requires_staff],
    status_code=303,
)
async def read_one(sc: CallerScope, message_id: Id) -> Redirect:
    """标为已读 without opening it."""
    await inbox.mark_read(sc, message_id)
    return Redirect(f"{links.INBOX}#m-{message_id}", status_code=303)


@get(f"{links.INBOX}/unread-badge", include_in_schema=False, guards=[requires_staff])
async def unread_badge(sc: CallerScope) -> Template:
    """The nav's unread count (htmx, on every page's load)."""
    return Template("inbox_badge.html", context={"unread": await inbox.unread_count(sc)})


CASEWORK_PAGES = [
    reveal_page,
    upload_page,
    download_page,
    open_message,
    read_all,
    read_one,
    unread_badge,
]
