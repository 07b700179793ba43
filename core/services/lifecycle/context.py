"""What every handling step works with: the step context (``Ctx``: the case as loaded,
the acting person, the values the step writes) and the checks steps share (required
fields, recusal and interest, handlers, departments)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from core.db.tables import CaseExclusion, Department, PetitionCase, StaffUser
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.schemas import ActionIn
from core.services import deadlines
from core.services.scope import Scope
from core.services.visibility import staff_refs
from core.settings import TIMEZONE

if TYPE_CHECKING:
    from core.services.lifecycle.notices import Notice

# The clocks that run while the unit decides: met by an opinion, extended, paused.
DECISION_CLOCKS = ("handle", "handle_assigned", "extension", "review_decide", "rereview_decide")


def required(value: Any, field: str, what: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        raise InvalidInput("field_required", f"此步骤须填写{what}。", field=field)
    return value


async def excluded(scope: Scope, case_id: int, user_id: int) -> str | None:
    """'accused' / 'recused' when this user may not act on the case."""
    user = (
        await scope.select(StaffUser, StaffUser.department_id, StaffUser.username, StaffUser.title)
        .where(StaffUser.id == user_id)
        .first()
    )
    dept = user["department_id"] if user else None
    refs = staff_refs(scope.rt.keys, user["username"], user["title"]) if user else frozenset()
    rows = await scope.select(
        CaseExclusion,
        CaseExclusion.kind,
        CaseExclusion.user_id,
        CaseExclusion.department_id,
        CaseExclusion.staff_ref,
    ).where(CaseExclusion.case_id == case_id)
    for r in rows:
        if r["user_id"] == user_id:
            return str(r["kind"])
        if r["kind"] == "accused" and (
            (dept is not None and r["department_id"] == dept) or r["staff_ref"] in refs
        ):
            return "accused"
    return None


async def check_actor_free(scope: Scope, case_id: int) -> None:
    if await excluded(scope, case_id, scope.actor.user_id):
        raise PermissionDenied(
            "recused", "您已登记回避（或与本事项有利害关系），不能审批或办理此事项。"
        )


async def check_handler(scope: Scope, case_id: int, user_id: int, field: str) -> None:
    user = (
        await scope.select(StaffUser, StaffUser.roles, StaffUser.active)
        .where(StaffUser.id == user_id)
        .output(load_json=True)
        .first()
    )
    if user is None or not user["active"]:
        raise InvalidInput("unknown_user", "承办人不存在或已停用。", field=field)
    if "handler" not in (user["roles"] or []):
        raise InvalidInput("not_a_handler", "所选人员不是承办人员。", field=field)
    if await excluded(scope, case_id, user_id):
        raise InvalidInput(
            "recused",
            "所选承办人已登记回避或与本事项有利害关系，不能交其办理。",
            field=field,
        )


async def check_department(scope: Scope, department_id: int, field: str) -> None:
    if not await scope.exists(Department).where(Department.id == department_id):
        raise InvalidInput("unknown_department", "部门不存在。", field=field)


@asynccontextmanager
async def as_tenant(other: Scope, back_to: Scope) -> AsyncIterator[Scope]:
    """Act in another tenant inside the same transaction (cross-tenant transfer)."""
    await other.switch()
    try:
        yield other
    finally:
        await back_to.switch()


def local_today(rt: Runtime) -> date:
    """Today where the office is (clocks count in its days)."""
    return rt.clock.now().astimezone(TIMEZONE).date()


class Ctx:
    """One step in the making: the case as loaded, who acts, what they sent, and the
    values and flags the step will write (``save``)."""

    def __init__(
        self,
        scope: Scope,
        tenant: TenantInfo,
        case: dict[str, Any],
        data: ActionIn,
        now: datetime,
        to_status: str,
        notice: Notice | None = None,
    ) -> None:
        self.scope = scope
        self.rt: Runtime = scope.rt
        self.notice = notice
        self.actor = scope.actor
        self.tenant = tenant
        self.case = case
        self.data = data
        self.now = now
        self.to_status = to_status
        self.values: dict[Any, Any] = {}
        self.flags: dict[str, Any] = dict(case["flags"] or {})

    @property
    def tid(self) -> int:
        return self.scope.tenant_id

    @property
    def cid(self) -> int:
        return int(self.case["id"])

    async def save(self) -> None:
        values = {
            **self.values,
            PetitionCase.status: self.to_status,
            PetitionCase.flags: self.flags,
            PetitionCase.version: self.case["version"] + 1,
            PetitionCase.updated_at: self.now,
        }
        updated = (
            await self.scope.update(PetitionCase, values)
            .where((PetitionCase.id == self.cid) & (PetitionCase.version == self.case["version"]))
            .returning(PetitionCase.id)
        )
        if not updated:
            raise Conflict("stale_case", "该事项已被他人同时更新，请刷新后重试。", field="version")

    async def start(self, clock: str, start: date | None = None, **kw: Any) -> dict[str, Any]:
        d = await deadlines.start_clock(
            self.scope,
            self.tenant,
            self.cid,
            clock,
            start or local_today(self.rt),
            now=self.now,
            department_id=kw.pop("department_id", self.case["department_id"]),
            user_id=kw.pop("user_id", self.case["assignee_id"]),
            **kw,
        )
        return {"clock": clock, "due": d.due.isoformat(), "provisional": d.provisional}

    async def settle(self, *clocks: str, state: str = "met") -> None:
        await deadlines.settle(self.scope, self.cid, clocks, now=self.now, state=state)

    def handle_clock(self) -> str:
        pack = deadlines.pack_for(self.scope, self.tenant)
        if self.case["assigned_from_above"] and "handle_assigned" in pack.clocks:
            return "handle_assigned"
        return "handle"


Step = Callable[[Ctx], Awaitable[dict[str, Any]]]
"""One handling step: checks, writes through the context, returns the event's data."""
