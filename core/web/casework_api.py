"""/api/v1: reveal a petitioner's numbers (查看完整信息) and a case's attachments — the
same services as the pages (``core.web.casework``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from core.schemas import Id
from core.services import attachments
from core.services.attachments import AttachmentOut
from core.services.reveal import Revealed, RevealIn, reveal_visitor
from core.web.auth import CallerScope, requires_staff
from core.web.casework import UPLOAD_BODY_LIMIT, download, read_upload


class RevealController(Controller):
    path = "/visitors"
    guards = [requires_staff]  # noqa: RUF012

    @post("/{visitor_id:int}/reveal", status_code=HTTP_200_OK)
    async def reveal(
        self, sc: CallerScope, visitor_id: Id, data: JSONBody[RevealIn]
    ) -> Response[Revealed]:
        """查看完整信息: the person's ID number, phone or address in clear, with the
        reason (at least 4 characters; 422 ``reason_required``) recorded in the audit
        log. 404 unless the caller may see one of the person's matters (or ``case_id``,
        which must be one of them). Answered with ``Cache-Control: no-store``."""
        revealed = await reveal_visitor(
            sc, visitor_id, list(data.fields), data.reason, case_id=data.case_id
        )
        return Response(revealed, headers={"Cache-Control": "no-store, private"})


@dataclass
class AttachmentUpload:
    file: UploadFile
    """PDF, JPEG or PNG (told by content), at most the tenant's limit (default 10 MB)."""


class AttachmentController(Controller):
    path = "/cases/{case_id:int}/attachments"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_attachments(self, sc: CallerScope, case_id: Id) -> list[AttachmentOut]:
        """The case's attachments, oldest first (404 when the case is not visible)."""
        return await attachments.list_attachments(sc, case_id)

    @post("/", status_code=HTTP_201_CREATED, request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload(
        self,
        sc: CallerScope,
        case_id: Id,
        data: Annotated[
            AttachmentUpload | None, Body(media_type=RequestEncodingType.MULTI_PART)
        ] = None,
    ) -> Response[AttachmentOut]:
        """Add a file (multipart field ``file``). Refused, nothing stored: 422
        ``file_required``, ``empty``, ``unsupported_type`` (not PDF/JPEG/PNG by its
        content), 413 ``too_large``; 404 when the case is not visible (checked first).
        The same content on the same case again: 200 with the attachment there is."""
        content, name, limit = await read_upload(sc, data.file if data else None)
        stored = await attachments.add_attachment(sc, case_id, content, name, limit=limit)
        return Response(
            stored.attachment, status_code=HTTP_201_CREATED if stored.created else HTTP_200_OK
        )

    @get(
        "/{attachment_id:int}",
        media_type="application/octet-stream",
        response_description="附件内容（application/pdf、image/jpeg 或 image/png）",
    )
    async def download(self, sc: CallerScope, case_id: Id, attachment_id: Id) -> File:
        """The file as a download (Content-Disposition: attachment; nosniff)."""
        att, path = await attachments.open_attachment(sc, case_id, attachment_id)
        return download(att, path)


def casework_router() -> Router:
    return Router(
        path="/api/v1", route_handlers=[RevealController, AttachmentController], tags=["staff"]
    )
