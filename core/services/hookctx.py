"""The facades behind ``core.plugin_api.HookContext``: what plugins may do in core.

Every facade a plugin uses is implemented here and nowhere else, each bound to one
tenant (a :class:`Scope`) and, for a plugin route, to the staff member calling it
(then cases hidden from them are unknown, and events are recorded as theirs). Each
method opens ``scope.tx``, which joins the caller's transaction: a hook called during
registration or a lifecycle step writes with it, or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from core.db.tables import CaseEvent, Department, PetitionCase, StaffUser
from core.errors import NotFound
from core.plugin_api import (
    Actor,
    CaseView,
    Facades,
    Person,
    StaffMember,
    TenantInfo,
)
from core.principal import Principal
from core.services import deadlines, events, repeats
from core.services.scope import Scope
from core.services.visibility import hidden_among, visible
from core.services.visitors import SealedPerson, find_existing

_CASE = (
    PetitionCase.id,
    PetitionCase.receipt_code,
    PetitionCase.category,
    PetitionCase.status,
    PetitionCase.received_at,
    PetitionCase.form,
    PetitionCase.flags,
)
_SEALED = "_sealed"  # core.services.sector.SEALED: the encrypted PII, never handed out


def _view(row: dict[str, Any]) -> CaseView:
    form = {k: v for k, v in (row["form"] or {}).items() if k != _SEALED}
    return CaseView(
        id=row["id"],
        receipt_code=row["receipt_code"],
        category=row["category"],
        status=row["status"],
        received_at=row["received_at"],
        form=form,
        flags=dict(row["flags"] or {}),
    )


def _not_found() -> NotFound:
    return NotFound("case_not_found", "信访事项不存在。")


@dataclass(frozen=True)
class _Cases:
    scope: Scope

    async def get(self, case_id: int) -> CaseView | None:
        sc = self.scope
        async with sc.tx(write=False):
            row = (
                await sc.select(PetitionCase, *_CASE)
                .where(PetitionCase.id == case_id)
                .output(load_json=True)
                .first()
            )
            if row is None or (sc.principal and not await visible(sc, case_id)):
                return None
        return _view(row)

    async def require(self, case_id: int) -> CaseView:
        case = await self.get(case_id)
        if case is None:
            raise _not_found()
        return case

    async def received_between(
        self, category: str, since: datetime, until: datetime
    ) -> list[CaseView]:
        sc = self.scope
        async with sc.tx(write=False):
            rows = (
                await sc.select(PetitionCase, *_CASE)
                .where(
                    (PetitionCase.category == category)
                    & (PetitionCase.received_at >= since)
                    & (PetitionCase.received_at <= until)
                )
                .order_by(PetitionCase.id)
                .output(load_json=True)
            )
            hidden = (
                await hidden_among(sc.principal, [r["id"] for r in rows]) if sc.principal else set()
            )
        return [_view(r) for r in rows if r["id"] not in hidden]

    async def merge_flags(self, case_id: int, flags: Mapping[str, Any]) -> None:
        sc = self.scope
        async with sc.tx():
            case = await self.get(case_id)
            if case is None:
                raise _not_found()
            await sc.update(PetitionCase, {PetitionCase.flags: {**case.flags, **flags}}).where(
                PetitionCase.id == case_id
            )


@dataclass(frozen=True)
class _Events:
    scope: Scope

    async def record(
        self, case_id: int, kind: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> None:
        sc = self.scope
        async with sc.tx():
            await events.record_event(
                sc,
                case_id,
                kind,
                at=at or sc.rt.clock.now(),
                actor_id=sc.user_id,
                data=dict(data),
            )

    async def exists(self, case_id: int, kind: str) -> bool:
        sc = self.scope
        async with sc.tx(write=False):
            found: bool = await sc.exists(CaseEvent).where(
                (CaseEvent.case_id == case_id) & (CaseEvent.kind == kind)
            )
        return found

    async def notify(
        self,
        kind: str,
        *,
        recipient_id: int,
        dedupe_key: str,
        payload: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        sc = self.scope
        async with sc.tx():
            await events.enqueue(
                sc,
                kind,
                dedupe_key=dedupe_key,
                at=at or sc.rt.clock.now(),
                recipient_id=recipient_id,
                payload=dict(payload),
            )


@dataclass(frozen=True)
class _Staff:
    scope: Scope

    async def with_role(self, role: str) -> list[StaffMember]:
        sc = self.scope
        async with sc.tx(write=False):
            rows = (
                await sc.select(StaffUser, StaffUser.id, StaffUser.roles)
                .where(StaffUser.active.eq(True))
                .order_by(StaffUser.id)
                .output(load_json=True)
            )
        return [
            StaffMember(id=r["id"], roles=tuple(r["roles"] or ()))
            for r in rows
            if role in (r["roles"] or ())
        ]

    async def named(self, name: str) -> list[int]:
        sc = self.scope
        async with sc.tx(write=False):
            rows = await sc.select(StaffUser, StaffUser.id).where(
                (StaffUser.username == name) | (StaffUser.title == name)
            )
        return [r["id"] for r in rows]

    async def department_exists(self, code: str) -> bool:
        sc = self.scope
        async with sc.tx(write=False):
            found: bool = await sc.exists(Department).where(Department.code == code)
        return found


@dataclass(frozen=True)
class _Visitors:
    scope: Scope

    async def find(self, person: Person) -> int | None:
        sc = self.scope
        sealed = SealedPerson(sc.rt, cast(Any, person), "visitor.")
        async with sc.tx(write=False):
            found = await find_existing(sc, sealed)
        return found["id"] if found else None


@dataclass(frozen=True)
class _Repeats:
    scope: Scope
    rule_pack: str

    async def earlier_matter(
        self,
        *,
        visitor_id: int,
        category: str,
        cause: str,
        actor: Actor,
        accused_user_ids: Sequence[int] = (),
        accused_department_ids: Sequence[int] = (),
    ) -> int | None:
        # The registrar the hook was given acts (their view decides what may be named).
        sc = replace(self.scope, principal=cast(Principal, actor))
        async with sc.tx(write=False):
            similar = await repeats.find_similar(
                sc,
                visitor_id=visitor_id,
                category=category,
                cause=cause,
                pack=sc.rt.rule_pack(self.rule_pack),
                shield=repeats.shield_of(accused_user_ids, accused_department_ids),
            )
        return similar.repeat.case_id if similar.repeat else None


@dataclass(frozen=True)
class _Deadlines:
    scope: Scope
    tenant: TenantInfo

    async def start(self, case_id: int, clock: str, start: date) -> date:
        sc = self.scope
        async with sc.tx():
            d = await deadlines.start_clock(
                sc, self.tenant, case_id, clock, start, now=sc.rt.clock.now()
            )
        return d.due


def facades(sc: Scope, tenant: TenantInfo) -> Facades:
    """The facades onto ``tenant`` (``sc``'s tenant) acting as ``sc``: the tenant's system
    scope for a hook, the caller's scope for a plugin route."""
    assert sc.tenant_id == tenant.id, "facades act on their own tenant only"

    @asynccontextmanager
    async def transaction(*, write: bool = True) -> AsyncIterator[Any]:
        async with sc.tx(write=write) as tx:
            yield tx

    return Facades(
        cases=_Cases(sc),
        events=_Events(sc),
        staff=_Staff(sc),
        visitors=_Visitors(sc),
        repeats=_Repeats(sc, tenant.rule_pack),
        deadlines=_Deadlines(sc, tenant),
        transaction=transaction,
    )
