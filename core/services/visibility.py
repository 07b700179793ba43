"""Who may see a case: the accused (检举控告) never do — not in lists, details or counts.

An exclusion names the accused by account (``user_id``), by department (the person's
department *now*) or by a name an accusation gives — e.g. a police badge (警号) — kept
as a keyed hash (``staff_ref``) and matched against the username and title of whoever
is asking, so an account created or renamed later is excluded too.
"""

from __future__ import annotations

from typing import Any

from core.db.tables import CaseExclusion, PetitionCase
from core.principal import Principal
from core.security import Keys

STAFF_REF = "staff.ref"


def staff_ref(keys: Keys, name: str) -> str:
    """The stored form of a name an accusation gives (badge, username, title)."""
    return keys.blind_index(name.strip(), purpose=STAFF_REF)


def staff_refs(keys: Keys, *names: str) -> frozenset[str]:
    """What a staff member answers to, under every key (a key rotation must not unhide)."""
    return frozenset(
        ref
        for name in names
        if name and name.strip()
        for ref in keys.blind_index_candidates(name.strip(), purpose=STAFF_REF)
    )


def _accused(actor: Principal) -> Any:
    """Exclusion rows naming this person, their department or their name as accused."""
    who: Any = CaseExclusion.user_id == actor.user_id
    if actor.department_id is not None:
        who = who | (CaseExclusion.department_id == actor.department_id)
    if actor.refs:
        who = who | CaseExclusion.staff_ref.is_in(sorted(actor.refs))
    return (CaseExclusion.tenant_id == actor.tenant_id) & (CaseExclusion.kind == "accused") & who


def hidden_from(actor: Principal) -> Any:
    """Cases this person must not see: they or their department are accused in it."""
    return CaseExclusion.select(CaseExclusion.case_id).where(_accused(actor))


async def visible(actor: Principal, case_id: int) -> bool:
    return not await CaseExclusion.exists().where(
        _accused(actor) & (CaseExclusion.case_id == case_id)
    )


async def hidden_among(actor: Principal, case_ids: list[int]) -> set[int]:
    """Which of these cases this person must not see."""
    if not case_ids:
        return set()
    rows = await CaseExclusion.select(CaseExclusion.case_id).where(
        _accused(actor) & CaseExclusion.case_id.is_in(case_ids)
    )
    return {r["case_id"] for r in rows}


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
