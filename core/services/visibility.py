"""Who may see a case: the accused (检举控告) never do — not in lists, details or counts."""

from __future__ import annotations

from typing import Any

from core.db.tables import CaseExclusion, PetitionCase
from core.principal import Principal


def _accused(actor: Principal) -> Any:
    """Exclusion rows naming this person, or their department, as accused."""
    who: Any = CaseExclusion.user_id == actor.user_id
    if actor.department_id is not None:
        who = who | (CaseExclusion.department_id == actor.department_id)
    return (CaseExclusion.tenant_id == actor.tenant_id) & (CaseExclusion.kind == "accused") & who


def hidden_from(actor: Principal) -> Any:
    """Cases this person must not see: they or their department are accused in it."""
    return CaseExclusion.select(CaseExclusion.case_id).where(_accused(actor))


async def visible(actor: Principal, case_id: int) -> bool:
    return not await CaseExclusion.exists().where(
        _accused(actor) & (CaseExclusion.case_id == case_id)
    )


async def matters_of(
    actor: Principal, visitor_id: int, *, exclude: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """A petitioner's matters this person may see, newest first (inside a tenant_tx)."""
    where = (
        (PetitionCase.tenant_id == actor.tenant_id)
        & (PetitionCase.visitor_id == visitor_id)
        & PetitionCase.id.not_in(hidden_from(actor))
    )
    if exclude is not None:
        where = where & (PetitionCase.id != exclude)
    return list(
        await PetitionCase.select(
            PetitionCase.id,
            PetitionCase.receipt_code,
            PetitionCase.status,
            PetitionCase.category,
            PetitionCase.received_at,
        )
        .where(where)
        .order_by(PetitionCase.id, ascending=False)
        .limit(limit)
    )
