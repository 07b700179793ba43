"""登记 decided: what a new matter is (status, visit kind, group visit, flags, routing,
first-contact close or redirect) from what was typed, the rule pack and the facts the
service gathered. Pure: no database, no clock — the service passes ``now`` in.

Two steps, so that refusals come in the order they always did: ``check`` refuses a
malformed registration before anything is read; ``decide`` (which checks again, so
it stands alone) turns the facts into the matter to write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.domain.rulepacks import RulePack
from core.errors import InvalidInput


class CaseInput(Protocol):
    """The registration as typed (``core.schemas.CaseIn`` is one)."""

    @property
    def visitor(self) -> object | None: ...
    @property
    def visitor_id(self) -> int | None: ...
    @property
    def headcount(self) -> int: ...
    @property
    def representatives(self) -> Sequence[object]: ...
    @property
    def channel(self) -> str: ...
    @property
    def legal_category(self) -> str: ...
    @property
    def accused(self) -> object | None: ...
    @property
    def department_id(self) -> int | None: ...
    @property
    def skip_level(self) -> bool: ...
    @property
    def answered_on_spot(self) -> str: ...


class EarlierMatter(Protocol):
    """A similar earlier matter found by the repeat search (``repeats.Match`` is one)."""

    @property
    def case_id(self) -> int: ...
    @property
    def receipt_code(self) -> str: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True)
class Routing:
    """The sector plugin's routing: a department code and what it names here."""

    code: str
    department_id: int | None
    """None: no department of the tenant has this code."""


@dataclass(frozen=True)
class Facts:
    """What the service found out before deciding."""

    now: datetime
    repeat: EarlierMatter | None = None
    """The same person's most similar earlier matter the new one may name (重复访)."""
    related: Sequence[EarlierMatter] = ()
    """Other people's similar matters about the same place (同一事项)."""
    sector_flags: Mapping[str, Any] = field(default_factory=dict)
    redirect: Mapping[str, Any] | None = None
    """诉访分离: the plugin says the matter belongs elsewhere (channel, reason, notice)."""
    routing: Routing | None = None
    """Asked only when the clerk chose no department."""


@dataclass(frozen=True)
class Registration:
    """The matter to write, and what its registration records."""

    status: str
    """``registered``; ``closed`` (answered on the spot); ``not_accepted`` (redirected)."""
    visit_kind: str
    is_group: bool
    department_id: int | None
    flags: dict[str, Any]
    repeat_of_id: int | None
    closed_at: datetime | None
    opinion: str
    opinion_at: datetime | None
    clocks: tuple[str, ...]
    """The clocks to start from the day received."""
    registered: dict[str, Any]
    """The ``registered`` event's data."""
    outcome: tuple[str, dict[str, Any]] | None
    """The event that closes or redirects it at once (kind, data), if any."""

    @property
    def first_contact_closed(self) -> bool:
        return self.status == "closed"


def group_visit(data: CaseInput, pack: RulePack) -> bool:
    """集体访: headcount at or above the pack's threshold must name its representatives."""
    if data.headcount < pack.group_visit_min_headcount:
        return False
    limit = pack.representative_limit(data.headcount)
    if not data.representatives:
        raise InvalidInput(
            "representatives_required",
            f"{data.headcount} 人来访属于集体访（{pack.group_visit_min_headcount} 人及以上），"
            f"请登记推选的代表（不超过 {limit} 人）。",
            field="representatives",
        )
    if len(data.representatives) > limit:
        raise InvalidInput(
            "too_many_representatives",
            f"集体访推选代表不得超过 {limit} 人（依据 {pack.name} {pack.title_zh}），"
            f"当前登记了 {len(data.representatives)} 人。",
            field="representatives",
            limit=limit,
            pack=pack.name,
        )
    return True


def check(data: CaseInput, pack: RulePack) -> bool:
    """Refuse what no fact can mend: one visitor (new or known), the accused named on an
    accusation, a group visit's representatives. Returns whether it is a group visit."""
    if (data.visitor is None) == (data.visitor_id is None):
        raise InvalidInput(
            "visitor_required",
            "请填写信访人信息（visitor）或选择已有信访人（visitor_id），二选一。",
            field="visitor",
        )
    if data.legal_category == "accusation" and data.accused is None:
        raise InvalidInput(
            "accused_required",
            "检举控告类事项须登记被检举控告的人员或部门（accused），以便对其回避保密。",
            field="accused",
        )
    return group_visit(data, pack)


def _mention(m: EarlierMatter) -> dict[str, Any]:
    return {"of": m.receipt_code, "case_id": m.case_id, "score": m.score}


def decide(data: CaseInput, pack: RulePack, facts: Facts) -> Registration:
    """The new matter from the registration, the pack and the facts."""
    is_group = check(data, pack)
    match = facts.repeat
    flags: dict[str, Any] = dict(facts.sector_flags)
    visit_kind = "first"
    if match is not None:
        visit_kind = "repeat"
        flags["repeat"] = _mention(match)
    if facts.related:
        # 同一事项 of other people: shown to the clerk, never refused or counted.
        flags["related"] = [_mention(m) for m in facts.related]
    if data.skip_level:
        flags["skip_level"] = True
    department_id = data.department_id
    if department_id is None and facts.routing is not None:
        department_id = facts.routing.department_id
        if department_id is None:
            flags["routing_unresolved"] = facts.routing.code
    status = "registered"
    outcome: tuple[str, dict[str, Any]] | None = None
    if facts.redirect is not None:
        status = "not_accepted"
        outcome = ("redirected", dict(facts.redirect))
    elif data.answered_on_spot.strip():
        status = "closed"
        outcome = (
            "closed_at_first_contact",
            {"opinion": "explain", "answer": data.answered_on_spot},
        )
    closed = status == "closed"
    return Registration(
        status=status,
        visit_kind=visit_kind,
        is_group=is_group,
        department_id=department_id,
        flags=flags,
        repeat_of_id=match.case_id if match else None,
        closed_at=facts.now if closed else None,
        opinion="explain" if closed else "",
        opinion_at=facts.now if status in ("closed", "not_accepted") else None,
        clocks=("accept", "notify") if status == "registered" else (),
        registered={
            "channel": data.channel,
            "headcount": data.headcount,
            "visit_kind": visit_kind,
            **({"repeat_of": match.receipt_code} if match else {}),
        },
        outcome=outcome,
    )
