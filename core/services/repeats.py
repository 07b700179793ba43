"""Recognising the same matter again (重复访), the frequent petitioner (上访老户) and the
matter already finally decided (复核终结) — at registration, inside its transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz

from core.db.tables import CaseExclusion, PetitionCase, Visitor
from core.domain.rulepacks import RulePack
from core.errors import Conflict
from core.services.scope import Scope
from core.services.visibility import hidden_among

MAX_RELATED = 5
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


Shield = frozenset[tuple[int | None, int | None, str]]
"""A case's accused exclusions as (user_id, department_id, staff_ref): who may not see it."""


def shield_of(
    user_ids: Iterable[int] = (), department_ids: Iterable[int] = (), refs: Iterable[str] = ()
) -> Shield:
    return frozenset(
        [(u, None, "") for u in user_ids]
        + [(None, d, "") for d in department_ids]
        + [(None, None, r) for r in refs]
    )


@dataclass
class Match:
    case_id: int
    receipt_code: str
    status: str
    score: float
    final: bool


@dataclass
class Similar:
    repeat: Match | None = None
    """The most similar earlier matter of the same person the new one may name (重复访)."""
    final: Match | None = None
    """A finally decided matter of the same person on the same facts the registrar may
    see (复核终结: the new one is refused)."""
    unnamed: list[Match] = field(default_factory=list)
    """Similar matters of the same person the new one must not name: hidden from the
    registrar, or from someone who will see the new one."""
    related: list[Match] = field(default_factory=list)
    """Other people's similar matters about the same place (同一事项), best first."""


async def _shields(scope: Scope, case_ids: list[int]) -> dict[int, Shield]:
    rows = await scope.select(
        CaseExclusion,
        CaseExclusion.case_id,
        CaseExclusion.user_id,
        CaseExclusion.department_id,
        CaseExclusion.staff_ref,
    ).where((CaseExclusion.kind == "accused") & CaseExclusion.case_id.is_in(case_ids or [0]))
    out: dict[int, set[tuple[int | None, int | None, str]]] = {}
    for r in rows:
        out.setdefault(r["case_id"], set()).add(
            (r["user_id"], r["department_id"], r["staff_ref"] or "")
        )
    return {k: frozenset(v) for k, v in out.items()}


async def find_similar(
    scope: Scope,
    *,
    visitor_id: int,
    category: str,
    cause: str,
    pack: RulePack,
    locality: str = "",
    shield: Shield = frozenset(),
) -> Similar:
    """Earlier matters in the same category whose facts are similar (rule pack
    threshold): the same person's (repeat, finality) and, about the same building or
    address (locality), other people's (related only — finality binds the petitioner,
    not the neighbour). ``shield`` is who may not see the new matter: an earlier matter
    is named on it only if the registrar may see it and everyone who will see the new
    matter may see it too, so a hidden matter is never named to the accused. The
    registrar is the scope's actor."""
    same_place = (PetitionCase.locality == locality) if locality.strip() else None
    who = PetitionCase.visitor_id == visitor_id
    where = (PetitionCase.category == category) & (
        (who | same_place) if same_place is not None else who
    )
    rows = (
        await scope.select(
            PetitionCase,
            PetitionCase.id,
            PetitionCase.visitor_id,
            PetitionCase.receipt_code,
            PetitionCase.status,
            PetitionCase.cause,
            PetitionCase.review_level,
        )
        .where(where)
        .order_by(PetitionCase.id, ascending=False)
        .limit(200)
    )
    scored = [(similarity(cause, row["cause"]), row) for row in rows]
    scored = [(score, row) for score, row in scored if score >= pack.similarity_threshold]
    scored.sort(key=lambda x: x[0], reverse=True)
    ids = [row["id"] for _, row in scored]
    hidden = await hidden_among(scope.actor, ids)
    shields = await _shields(scope, ids)
    out = Similar()
    for score, row in scored:
        m = Match(
            row["id"],
            row["receipt_code"],
            row["status"],
            round(score, 1),
            final=row["status"] == "final"
            or (row["status"] == "archived" and row["review_level"] >= 2),
        )
        theirs = shields.get(m.case_id, frozenset())
        nameable = m.case_id not in hidden and theirs <= shield
        if row["visitor_id"] != visitor_id:
            if nameable and len(out.related) < MAX_RELATED:
                out.related.append(m)
            continue
        if m.final and m.case_id not in hidden and out.final is None:
            out.final = m
        if nameable:
            out.repeat = out.repeat or m
        elif shield <= theirs:  # whoever sees the earlier one may see the new one
            out.unnamed.append(m)
    return out


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
    scope: Scope,
    visitor_id: int,
    *,
    now: datetime,
    window_days: int,
    threshold: int,
) -> bool:
    """Flag the person 上访老户 when their repeat matters in the window reach the
    threshold. Returns the flag. Matters hidden from an accused are not counted: the
    flag is shown to everyone who sees the person, the accused included."""
    since = now - timedelta(days=window_days)
    shielded = scope.select(CaseExclusion, CaseExclusion.case_id).where(
        CaseExclusion.kind == "accused"
    )
    repeats = await scope.count(PetitionCase).where(
        (PetitionCase.visitor_id == visitor_id)
        & (PetitionCase.visit_kind == "repeat")
        & (PetitionCase.received_at >= since)
        & PetitionCase.id.not_in(shielded)
    )
    if repeats < threshold:
        return False
    row = (
        await scope.select(Visitor, Visitor.flags)
        .where(Visitor.id == visitor_id)
        .output(load_json=True)
        .first()
    )
    flags: dict[str, Any] = dict((row or {}).get("flags") or {})
    flags["veteran"] = {"repeats": repeats, "window_days": window_days, "since": str(since.date())}
    await scope.update(Visitor, {Visitor.flags: flags, Visitor.updated_at: now}).where(
        Visitor.id == visitor_id
    )
    return True
