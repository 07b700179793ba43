"""Recognising the same matter again (重复访), the frequent petitioner (上访老户) and the
matter already finally decided (复核终结) — at registration, inside its transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from core.db.tables import PetitionCase, Visitor
from core.domain.rulepacks import RulePack
from core.errors import Conflict

_NOISE = re.compile(r"[\s\u3000，。、；：！？,.;:!?\"'“”‘’（）()【】\[\]《》<>-]+")


def normalise(text: str) -> str:
    return _NOISE.sub("", text).lower()


def similarity(a: str, b: str) -> float:
    """0–100. Chinese has no word breaks, so compare characters, allowing one text to
    be a longer retelling of the other."""
    x, y = normalise(a), normalise(b)
    if not x or not y:
        return 0.0
    return max(fuzz.ratio(x, y), 0.9 * fuzz.partial_ratio(x, y))


@dataclass
class Match:
    case_id: int
    receipt_code: str
    status: str
    score: float
    final: bool


async def find_similar(
    tenant_id: int,
    *,
    visitor_id: int,
    locality: str,
    category: str,
    cause: str,
    pack: RulePack,
) -> Match | None:
    """The most similar earlier matter of the same person, or about the same
    building/address (locality), in the same category."""
    same_place = (PetitionCase.locality == locality) if locality.strip() else None
    who = PetitionCase.visitor_id == visitor_id
    where = (PetitionCase.tenant_id == tenant_id) & (PetitionCase.category == category)
    where = where & ((who | same_place) if same_place is not None else who)
    rows = (
        await PetitionCase.select(
            PetitionCase.id,
            PetitionCase.receipt_code,
            PetitionCase.status,
            PetitionCase.cause,
            PetitionCase.review_level,
        )
        .where(where)
        .order_by(PetitionCase.id, ascending=False)
        .limit(200)
    )
    best: Match | None = None
    for row in rows:
        score = similarity(cause, row["cause"])
        if score >= pack.similarity_threshold and (best is None or score > best.score):
            best = Match(
                row["id"],
                row["receipt_code"],
                row["status"],
                round(score, 1),
                final=row["status"] == "final"
                or (row["status"] == "archived" and row["review_level"] >= 2),
            )
    return best


def refuse_if_final(match: Match | None) -> None:
    if match is not None and match.final:
        raise Conflict(
            "matter_final",
            f"该事项与已复核终结的事项 {match.receipt_code} 事实和理由相同。依据《信访工作条例》"
            "第三十六条，复核意见为最终意见，不再受理；请向信访人出示该复核意见书。",
            field="cause",
            final_case=match.receipt_code,
        )


async def update_veteran_flag(
    tenant_id: int,
    visitor_id: int,
    *,
    now: datetime,
    window_days: int,
    threshold: int,
) -> bool:
    """Flag the person 上访老户 when their repeat matters in the window reach the
    threshold. Returns the flag."""
    since = now - timedelta(days=window_days)
    repeats = await PetitionCase.count().where(
        (PetitionCase.tenant_id == tenant_id)
        & (PetitionCase.visitor_id == visitor_id)
        & (PetitionCase.visit_kind == "repeat")
        & (PetitionCase.received_at >= since)
    )
    if repeats < threshold:
        return False
    row = (
        await Visitor.select(Visitor.flags)
        .where((Visitor.tenant_id == tenant_id) & (Visitor.id == visitor_id))
        .output(load_json=True)
        .first()
    )
    flags: dict[str, Any] = dict((row or {}).get("flags") or {})
    flags["veteran"] = {"repeats": repeats, "window_days": window_days, "since": str(since.date())}
    await Visitor.update({Visitor.flags: flags, Visitor.updated_at: now}).where(
        (Visitor.tenant_id == tenant_id) & (Visitor.id == visitor_id)
    )
    return True
