"""Who may see a case: the accused (检举控告) never do — not in lists, details or counts.

An exclusion names the accused by account (``user_id``), by department (the person's
department *now*) or by a name an accusation gives — e.g. a police badge (警号) — kept
as a keyed hash (``staff_ref``) and matched against the username and title of whoever
is asking, so an account created or renamed later is excluded too.
"""

from __future__ import annotations

from typing import Any

from core.db import scoped
from core.db.tables import CaseExclusion, PetitionCase
from core.principal import Principal
from core.security import Keys
from core.services.scope import Scope

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


def _accused(who: Principal) -> Any:
    """Exclusion rows naming this person, their department or their name as accused
    (the tenant condition comes from the scoped query it is put in)."""
    named: Any = CaseExclusion.user_id == who.user_id
    if who.department_id is not None:
        named = named | (CaseExclusion.department_id == who.department_id)
    if who.refs:
        named = named | CaseExclusion.staff_ref.is_in(sorted(who.refs))
    return (CaseExclusion.kind == "accused") & named


def hidden_from(who: Principal) -> Any:
    """Cases this person must not see: they or their department are accused in it.

    A predicate about a person in their own tenant — the acting one (``scope.actor``)
    or, for the notification daemon, each recipient — so it takes the person."""
    return scoped.select(who.tenant_id, CaseExclusion, CaseExclusion.case_id).where(_accused(who))


async def visible(scope: Scope, case_id: int) -> bool:
    """May the acting person see this case?"""
    return not await scope.exists(CaseExclusion).where(
        _accused(scope.actor) & (CaseExclusion.case_id == case_id)
    )


async def hidden_among(who: Principal, case_ids: list[int]) -> set[int]:
    """Which of these cases this person must not see."""
    if not case_ids:
        return set()
    rows = await hidden_from(who).where(CaseExclusion.case_id.is_in(case_ids))
    return {r["case_id"] for r in rows}


async def matters_of(
    scope: Scope, visitor_id: int, *, exclude: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """A petitioner's matters the acting person may see, newest first (inside a tx)."""
    where = (PetitionCase.visitor_id == visitor_id) & PetitionCase.id.not_in(
        hidden_from(scope.actor)
    )
    if exclude is not None:
        where = where & (PetitionCase.id != exclude)
    return list(
        await scope.select(
            PetitionCase,
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
