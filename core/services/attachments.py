"""Attachments (附件): scanned letters and evidence on a case.

Only PDF, JPEG and PNG, told by the content's first bytes (never by the file's name or
the type the client claims); at most the tenant's ``attachment_max_mb`` (default 10 MB).
The bytes are stored under the data directory by their SHA-256 —
``<data>/attachments/<tenant id>/<aa>/<sha256>`` — so the same content is stored once
per tenant however many cases carry it; the ``case_attachment`` row says which case,
who, when, and the name it came with (made safe). Whoever may see the case may add and
download its attachments; for anyone else the case does not exist (404). A refused file
writes nothing.

The database backup (``xinfang backup``) holds the rows, not these files: back up the
data directory's ``attachments`` folder with it (deploy/README.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from msgspec import Struct

from core.db.tables import CaseAttachment, PetitionCase, Tenant
from core.errors import Conflict, DomainError, InvalidInput, NotFound
from core.services import audit
from core.services.scope import Scope
from core.services.tenant_settings import attachment_max_bytes
from core.services.visibility import visible
from core.settings import TIMEZONE

KINDS: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
"""Magic bytes → content type and the extension a stored name gets."""
EXTENSIONS = {ctype: ext for _, ctype, ext in KINDS}
TYPE_ZH = {"application/pdf": "PDF", "image/jpeg": "JPEG 图片", "image/png": "PNG 图片"}
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w\u3400-\u9fff\uf900-\ufaff .()\[\]（）【】+-]")


class PayloadTooLarge(DomainError):
    status = 413


class AttachmentOut(Struct):
    id: int
    case_id: int
    filename: str
    """The uploaded name made safe, with the extension of its real type."""
    content_type: str
    """application/pdf, image/jpeg or image/png — from the content."""
    size: int
    """Bytes."""
    sha256: str
    uploaded_by: int | None
    uploaded_at: datetime
    """Asia/Shanghai."""


class Stored(Struct):
    """An attachment added: the row, and whether this upload created it (the same
    content on the same case again answers the row there is)."""

    attachment: AttachmentOut
    created: bool


COLUMNS = (
    CaseAttachment.id,
    CaseAttachment.case_id,
    CaseAttachment.filename,
    CaseAttachment.content_type,
    CaseAttachment.size,
    CaseAttachment.sha256,
    CaseAttachment.uploaded_by,
    CaseAttachment.uploaded_at,
)


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, among the accepted ones (None: none of them)."""
    for magic, ctype, _ in KINDS:
        if data.startswith(magic):
            return ctype
    return None


def safe_filename(name: str, content_type: str) -> str:
    """A name fit for a Content-Disposition and a listing: the last path part, no
    control or shell characters, at most ``MAX_NAME`` characters, ending in the
    extension of the content's real type."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem = os.path.splitext(base)[0] if "." in base else base
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "附件"
    ext = EXTENSIONS[content_type]
    return stem[: MAX_NAME - len(ext)] + ext


def _out(row: dict[str, object]) -> AttachmentOut:
    at = row["uploaded_at"]
    assert isinstance(at, datetime)
    return AttachmentOut(**{**row, "uploaded_at": at.astimezone(TIMEZONE)})  # type: ignore[arg-type]


def blob_path(scope: Scope, sha256: str) -> Path:
    """Where the bytes of ``sha256`` live for this tenant."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256")
    root = scope.rt.settings.data_dir / "attachments" / str(scope.tenant_id)
    return root / sha256[:2] / sha256


def _write_blob(path: Path, data: bytes) -> None:
    """Write once (content-addressed: a file already there holds the same bytes), through
    a temporary file renamed into place, so a reader never sees half a file."""
    if path.exists() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(data)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


async def _case_visible(scope: Scope, case_id: int) -> None:
    """404 unless the case is the tenant's and the acting person may see it (in a tx)."""
    if not await scope.exists(PetitionCase).where(PetitionCase.id == case_id) or not (
        await visible(scope, case_id)
    ):
        raise NotFound("case_not_found", "信访事项不存在。")


async def _still_filed_to(scope: Scope, case_id: int) -> None:
    """409 once the case is archived: the volume is closed (立卷归档), nothing is added."""
    row = (
        await scope.select(PetitionCase, PetitionCase.status)
        .where(PetitionCase.id == case_id)
        .first()
    )
    if row is not None and row["status"] == "archived":
        raise Conflict("case_archived", "该信访事项已立卷归档，不能再添加附件。")


async def max_bytes(scope: Scope) -> int:
    """The largest attachment this tenant accepts (its setting, else 10 MB)."""
    async with scope.tx(write=False):
        row = (
            await Tenant.select(Tenant.settings)
            .where(Tenant.id == scope.tenant_id)
            .output(load_json=True)
            .first()
        )
    return attachment_max_bytes(row["settings"] if row else None)


def check_file(data: bytes | None, limit: int) -> str:
    """The content type of an acceptable file; else the refusal (field ``file``)."""
    if data is None:
        raise InvalidInput("file_required", "请选择要上传的文件。", field="file")
    if not data:
        raise InvalidInput("empty", "文件是空的，请重新选择。", field="file")
    if len(data) > limit:
        raise PayloadTooLarge(
            "too_large",
            f"文件超过本机关规定的大小上限（{limit // (1024 * 1024)} MB）。",
            field="file",
            limit=limit,
        )
    ctype = sniff(data)
    if ctype is None:
        raise InvalidInput(
            "unsupported_type",
            "只能上传 PDF、JPEG 或 PNG 文件（按文件内容判断，而不是文件名）。",
            field="file",
        )
    return ctype


async def add_attachment(
    scope: Scope, case_id: int, data: bytes | None, filename: str, *, limit: int | None = None
) -> Stored:
    """Store ``data`` on the case (None: no file was sent). ``limit``: the tenant's, when
    the caller read it already (to read no more of the upload than that)."""
    actor = scope.actor
    async with scope.tx(write=False):
        await _case_visible(scope, case_id)  # 404 before anything is said about the file
        await _still_filed_to(scope, case_id)
    ctype = check_file(data, limit if limit is not None else await max_bytes(scope))
    assert data is not None
    sha = hashlib.sha256(data).hexdigest()
    name = safe_filename(filename, ctype)
    # The bytes first: a row never names a file that is not there. A file whose row
    # then fails is a harmless orphan a later upload of the same content reuses.
    await asyncio.to_thread(_write_blob, blob_path(scope, sha), data)
    now = scope.rt.clock.now()
    async with scope.tx():
        await _case_visible(scope, case_id)
        await _still_filed_to(scope, case_id)
        existing = (
            await scope.select(CaseAttachment, *COLUMNS)
            .where((CaseAttachment.case_id == case_id) & (CaseAttachment.sha256 == sha))
            .first()
        )
        if existing is not None:
            return Stored(attachment=_out(existing), created=False)
        rows = await CaseAttachment.insert(
            CaseAttachment(
                tenant_id=scope.tenant_id,
                case_id=case_id,
                sha256=sha,
                size=len(data),
                content_type=ctype,
                filename=name,
                uploaded_by=actor.user_id,
                uploaded_at=now,
            )
        ).returning(*COLUMNS)
        # The name stays out: it may carry a person's name; the row has it.
        await audit.append(
            scope.rt,
            scope.tenant_id,
            "case.attachment_added",
            target=f"case:{case_id}",
            detail={
                "attachment_id": rows[0]["id"],
                "sha256": sha,
                "size": len(data),
                "content_type": ctype,
            },
        )
    return Stored(attachment=_out(rows[0]), created=True)


async def list_attachments(scope: Scope, case_id: int) -> list[AttachmentOut]:
    """The case's attachments, oldest first (404 when the case is not visible)."""
    async with scope.tx(write=False):
        await _case_visible(scope, case_id)
        rows = (
            await scope.select(CaseAttachment, *COLUMNS)
            .where(CaseAttachment.case_id == case_id)
            .order_by(CaseAttachment.id)
        )
    return [_out(r) for r in rows]


async def open_attachment(
    scope: Scope, case_id: int, attachment_id: int
) -> tuple[AttachmentOut, Path]:
    """One attachment of the case and where its bytes are (404: not this tenant's, not
    this case's, the case hidden from the caller, or the file gone)."""
    async with scope.tx(write=False):
        await _case_visible(scope, case_id)
        row = (
            await scope.select(CaseAttachment, *COLUMNS)
            .where((CaseAttachment.case_id == case_id) & (CaseAttachment.id == attachment_id))
            .first()
        )
    if row is None:
        raise NotFound("attachment_not_found", "附件不存在。", field="attachment_id")
    out = _out(row)
    path = blob_path(scope, out.sha256)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound("attachment_missing", "附件文件已不在存储中，请联系管理员。")
    return out, path
