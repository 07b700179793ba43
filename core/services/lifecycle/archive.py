"""立卷归档: archiving a decided matter into the petitioner's volume of the year, and
reading a petitioner's file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from core.db.tables import ArchiveVolume, PetitionCase, Visitor
from core.errors import Conflict, NotFound
from core.services import deadlines
from core.services.lifecycle.context import Ctx, Step
from core.services.scope import Scope
from core.services.visibility import hidden_from
from core.settings import TIMEZONE


class ArchivedMatter(Struct):
    """One matter in a volume, in the order received."""

    id: int
    receipt_code: str
    category: str
    received_at: datetime
    closed_at: datetime | None
    opinion: str
    review_level: int


class ArchiveVolumeOut(Struct):
    """One petitioner's volume of a year with the matters the reader may see."""

    id: int
    year: int
    volume_code: str
    matters: list[ArchivedMatter]


async def _archive(c: Ctx) -> dict[str, Any]:
    if c.flags.get("paused"):
        raise Conflict("paused", "计时中止中的事项不能归档。", field="action")
    if any(r["clock"] == "notify" for r in await deadlines.open_clocks(c.scope, c.cid)):
        # Archiving would cancel the clock and hide a notice the law requires.
        raise Conflict(
            "notice_not_given",
            "尚未登记对信访人的书面告知：请先登记告知（方式与日期）再归档。",
            field="action",
        )
    when = c.case["closed_at"] or c.case["opinion_at"] or c.now
    year = when.astimezone(TIMEZONE).year
    visitor_id = c.case["visitor_id"]
    vol = (
        await c.scope.select(ArchiveVolume, ArchiveVolume.id, ArchiveVolume.volume_code)
        .where((ArchiveVolume.visitor_id == visitor_id) & (ArchiveVolume.year == year))
        .first()
    )
    if vol is None:
        code = f"{c.tenant.slug}-{year}-{visitor_id:06d}"
        rows = await ArchiveVolume.insert(
            ArchiveVolume(
                tenant_id=c.tid,
                visitor_id=visitor_id,
                year=year,
                volume_code=code,
                created_at=c.now,
            )
        ).returning(ArchiveVolume.id, ArchiveVolume.volume_code)
        vol = rows[0]
    await deadlines.settle(c.scope, c.cid, None, now=c.now, state="cancelled")
    c.values.update({PetitionCase.archive_volume_id: vol["id"], PetitionCase.archived_at: c.now})
    return {"volume": vol["volume_code"], "year": year, "review_level": c.case["review_level"]}


STEPS: dict[str, Step] = {"archive": _archive}


async def archive_of(scope: Scope, visitor_id: int) -> list[ArchiveVolumeOut]:
    """A petitioner's file: volumes per year, matters in chronological order (only the
    matters the acting person may see)."""
    async with scope.tx(write=False):
        if not await scope.exists(Visitor).where(Visitor.id == visitor_id):
            raise NotFound("visitor_not_found", "信访人不存在。")
        vols = (
            await scope.select(
                ArchiveVolume, ArchiveVolume.id, ArchiveVolume.year, ArchiveVolume.volume_code
            )
            .where(ArchiveVolume.visitor_id == visitor_id)
            .order_by(ArchiveVolume.year)
        )
        items = (
            await scope.select(
                PetitionCase,
                PetitionCase.id,
                PetitionCase.receipt_code,
                PetitionCase.category,
                PetitionCase.received_at,
                PetitionCase.closed_at,
                PetitionCase.opinion,
                PetitionCase.review_level,
                PetitionCase.archive_volume_id,
            )
            .where(
                PetitionCase.archive_volume_id.is_in([v["id"] for v in vols] or [0])
                & PetitionCase.id.not_in(hidden_from(scope.actor))
            )
            .order_by(PetitionCase.received_at)
            .order_by(PetitionCase.id)
        )
    by_volume: dict[int, list[ArchivedMatter]] = {v["id"]: [] for v in vols}
    for item in items:
        by_volume[item.pop("archive_volume_id")].append(ArchivedMatter(**item))
    # A volume holding only hidden matters would tell the accused they exist.
    return [ArchiveVolumeOut(**v, matters=by_volume[v["id"]]) for v in vols if by_volume[v["id"]]]
