"""``ctx``: what a hook (or a plugin route) gets besides the tenant.

Not the runtime: the clock, the plugin's settings for this tenant, the tenant, and
small facades onto core — cases, events, staff, visitors, repeat detection, deadlines —
each scoped to the tenant. Their methods join the caller's transaction (a hook called
during registration or a lifecycle step writes with it, or not at all);
``ctx.transaction()`` makes several calls one transaction where no caller has one.
The facades are implemented by core (``core.services.hookctx``); plugins see only the
protocols below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from msgspec import Struct

from core.plugin_api.types import TenantInfo


class Clock(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime: ...


class Actor(Protocol):
    """The staff member acting (``actor`` of ``xinfang_route_case``, ``ctx.actor`` in a
    plugin route)."""

    @property
    def user_id(self) -> int: ...

    @property
    def roles(self) -> frozenset[str]: ...

    def has_any(self, *roles: str) -> bool: ...


class Person(Protocol):
    """A person as registration receives them (``data.visitor``)."""

    name: str
    id_number: str | None
    phone: str | None


class AccusedDraft(Protocol):
    user_ids: Sequence[int]
    department_ids: Sequence[int]


class CaseDraft(Protocol):
    """The new case ``xinfang_route_case`` gets as ``data`` (core's ``CaseIn``)."""

    category: str
    cause: str
    received_at: datetime | None
    visitor_id: int | None
    visitor: Person | None
    accused: AccusedDraft | None


class CaseView(Struct, frozen=True, kw_only=True):
    """What a plugin may read of a case. ``form`` is as stored: personal-data fields
    (``xinfang_pii_fields``) only masked, never their sealed values."""

    id: int
    receipt_code: str
    category: str
    status: str
    received_at: datetime
    form: dict[str, Any]
    flags: dict[str, Any]


class StaffMember(Struct, frozen=True, kw_only=True):
    id: int
    roles: tuple[str, ...]


class Cases(Protocol):
    async def get(self, case_id: int) -> CaseView | None:
        """The case, or None when unknown (in a plugin route: or hidden from the caller)."""

    async def require(self, case_id: int) -> CaseView:
        """:meth:`get`, or ``404 case_not_found``."""

    async def received_between(
        self, category: str, since: datetime, until: datetime
    ) -> list[CaseView]:
        """Cases of a category received in [since, until], oldest id first."""

    async def merge_flags(self, case_id: int, flags: Mapping[str, Any]) -> None:
        """Set these keys of the case's flags (others are kept)."""


class Events(Protocol):
    async def record(
        self, case_id: int, kind: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> None:
        """Record a case event (audited; the acting staff member in a plugin route)."""

    async def exists(self, case_id: int, kind: str) -> bool:
        """Whether the case has an event of this kind."""

    async def notify(
        self,
        kind: str,
        *,
        recipient_id: int,
        dedupe_key: str,
        payload: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        """Queue a notification once per ``dedupe_key`` (``title``, ``body``, ``link``)."""


class Staff(Protocol):
    async def with_role(self, role: str) -> list[StaffMember]:
        """Active staff holding ``role``."""

    async def named(self, name: str) -> list[int]:
        """Ids of the accounts whose username or title is ``name`` (e.g. a 警号)."""

    async def department_exists(self, code: str) -> bool: ...


class Visitors(Protocol):
    async def find(self, person: Person) -> int | None:
        """The known visitor this person is (same ID number, else same name and phone)."""


class Repeats(Protocol):
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
        """The case id of this person's earlier similar matter in the category, as core
        repeat detection finds it (rule pack threshold; never one hidden from ``actor``
        or from the accused), else None."""


class Deadlines(Protocol):
    async def start(self, case_id: int, clock: str, start: date) -> date:
        """Start a clock of the tenant's rule pack (or ``xinfang_extra_clocks``) for a
        case; returns its due date."""


@dataclass(frozen=True)
class Facades:
    cases: Cases
    events: Events
    staff: Staff
    visitors: Visitors
    repeats: Repeats
    deadlines: Deadlines
    transaction: Any
    """``transaction(write=True)``: an async context manager joining the caller's."""


class _Missing:
    """Stands in where no facades were given (a hook called outside the case services)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise RuntimeError(f"ctx.{self._name} is not available to this hook")


@dataclass(frozen=True)
class HookContext:
    """``ctx``: see the module docstring."""

    plugin: str
    """The plugin's own name."""
    tenant: TenantInfo
    config: dict[str, Any]
    """``xinfang_default_config()`` overlaid with the tenant's settings."""
    clock: Clock
    actor: Actor | None = None
    """The staff member calling a plugin route; None in hooks."""
    facades: Facades | None = field(default=None, repr=False)

    def today(self) -> date:
        return self.clock.today()

    def now(self) -> datetime:
        return self.clock.now()

    def _facade(self, name: str) -> Any:
        return _Missing(name) if self.facades is None else getattr(self.facades, name)

    @property
    def cases(self) -> Cases:
        facade: Cases = self._facade("cases")
        return facade

    @property
    def events(self) -> Events:
        facade: Events = self._facade("events")
        return facade

    @property
    def staff(self) -> Staff:
        facade: Staff = self._facade("staff")
        return facade

    @property
    def visitors(self) -> Visitors:
        facade: Visitors = self._facade("visitors")
        return facade

    @property
    def repeats(self) -> Repeats:
        facade: Repeats = self._facade("repeats")
        return facade

    @property
    def deadlines(self) -> Deadlines:
        facade: Deadlines = self._facade("deadlines")
        return facade

    def transaction(self, *, write: bool = True) -> AbstractAsyncContextManager[Any]:
        """One transaction for several facade calls; joins the caller's when there is one."""
        if self.facades is None:
            raise RuntimeError("ctx.transaction is not available to this hook")
        tx: AbstractAsyncContextManager[Any] = self.facades.transaction(write=write)
        return tx
