"""查看完整信息: a petitioner's ID number, phone or address shown in clear.

Everywhere else they are masked. A staff member who must call or write back asks for
the fields they need and says why; each reveal writes an audit row (who, when, which
fields, the reason, which case and person) — never the values. Only someone who may
see one of the person's matters may reveal (an accused never sees the complaint about
them, ``core.services.visibility``): for anyone else the person does not exist (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from core.db.tables import PetitionCase, Visitor
from core.errors import InvalidInput, NotFound
from core.schemas import OptionalId, Strict
from core.services import audit
from core.services.scope import Scope
from core.services.visibility import hidden_from, matters_of
from core.settings import TIMEZONE

REVEALABLE = ("id_number", "phone", "address")
FIELD_ZH = {"id_number": "身份证号码", "phone": "联系电话", "address": "住址"}
MIN_REASON = 4
"""Characters a reason needs at least (「回电告知」)."""
MAX_REASON = 500
RevealField = Literal["id_number", "phone", "address"]


class RevealIn(Strict):
    """Which of the person's fields to show in clear, and why (kept in the audit log)."""

    fields: Annotated[list[RevealField], Meta(min_length=1, max_length=3)]
    reason: Annotated[str, Meta(max_length=MAX_REASON)]
    """Why they are needed, at least 4 characters (e.g. 「电话告知受理结果」)."""
    case_id: OptionalId = None
    """The matter they are needed for (one of the person's, visible to the caller);
    recorded with the reveal."""


class Revealed(Struct):
    """The fields asked for, in clear (null: not on file). Not to be cached or logged."""

    visitor_id: int
    case_id: int | None
    fields: list[str]
    """The fields asked for, in the order id_number, phone, address."""
    id_number: str | None
    phone: str | None
    address: str | None
    revealed_at: datetime
    """When (Asia/Shanghai); the audit row has the same time."""


def _check(fields: list[str], reason: str) -> tuple[list[str], str]:
    why = " ".join(reason.split())
    if len(why) < MIN_REASON:
        raise InvalidInput(
            "reason_required",
            f"请填写查看完整信息的理由（至少 {MIN_REASON} 个字），该理由将记入审计日志。",
            field="reason",
        )
    if len(why) > MAX_REASON:
        raise InvalidInput("reason_too_long", f"理由不能超过 {MAX_REASON} 个字。", field="reason")
    unknown = sorted(set(fields) - set(REVEALABLE))
    wanted = [f for f in REVEALABLE if f in fields]
    if unknown or not wanted:
        raise InvalidInput(
            "invalid_fields",
            "请选择要查看的信息：身份证号码、联系电话或住址。",
            field="fields",
        )
    return wanted, why


async def _may_see(scope: Scope, visitor_id: int, case_id: int | None) -> None:
    """404 unless the caller may see this matter of the person (or, without a case, one
    of the person's matters). Inside the caller's transaction."""
    if case_id is None:
        if not await matters_of(scope, visitor_id, limit=1):
            raise NotFound("visitor_not_found", "信访人不存在。")
        return
    found = await scope.exists(PetitionCase).where(
        (PetitionCase.id == case_id)
        & (PetitionCase.visitor_id == visitor_id)
        & PetitionCase.id.not_in(hidden_from(scope.actor))
    )
    if not found:
        raise NotFound("case_not_found", "信访事项不存在。", field="case_id")


async def reveal_visitor(
    scope: Scope,
    visitor_id: int,
    fields: list[str],
    reason: str,
    *,
    case_id: int | None = None,
) -> Revealed:
    """Decrypt ``fields`` of the person for the acting staff member and record it."""
    wanted, why = _check(fields, reason)
    keys = scope.rt.keys
    async with scope.tx():
        await _may_see(scope, visitor_id, case_id)
        row = (
            await scope.select(
                Visitor, Visitor.id_number_enc, Visitor.phone_enc, Visitor.address_enc
            )
            .where(Visitor.id == visitor_id)
            .first()
        )
        if row is None:
            raise NotFound("visitor_not_found", "信访人不存在。")
        values: dict[str, str | None] = {}
        for name in REVEALABLE:
            sealed = row[f"{name}_enc"]
            values[name] = (
                keys.decrypt(sealed, context=f"visitor.{name}")
                if name in wanted and sealed
                else None
            )
        now = scope.rt.clock.now()
        # On a case, the row names the case (so the audit log hides it from an accused
        # reader like the case itself); the person's id is in the detail.
        await audit.record_reveal(
            scope,
            f"case:{case_id}" if case_id is not None else f"visitor:{visitor_id}",
            wanted,
            extra={"reason": why, "visitor_id": visitor_id, "case_id": case_id},
        )
    return Revealed(
        visitor_id=visitor_id,
        case_id=case_id,
        fields=wanted,
        revealed_at=now.astimezone(TIMEZONE),
        **values,
    )
