"""Who a tick's reminders go to: the tenant's active staff, loaded once per tick, and
the recipients of each audience (handler, department, oversight, desk)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.db import sql
from core.domain import reminders
from core.principal import Principal
from core.services.scope import Scope
from daemon.notify.privacy import principal_of


@dataclass(frozen=True)
class Staff:
    id: int
    roles: frozenset[str]
    department_id: int | None
    who: Principal


class Audiences:
    """Who receives what, from the tenant's active staff (loaded once per tick)."""

    def __init__(self, staff: Iterable[Staff]) -> None:
        self.staff = {s.id: s for s in staff}
        self._cache: dict[tuple[str, int | None, int | None], tuple[int, ...]] = {}

    def _with(self, *roles: str, department: int | None = None) -> list[int]:
        return sorted(
            s.id
            for s in self.staff.values()
            if s.roles.intersection(roles) and (department is None or s.department_id == department)
        )

    def _department(self, dept: int | None) -> list[int]:
        if dept is not None:
            found = self._with("handler", department=dept) or self._with(
                "handler", "clerk", "leader", "supervisor", "admin", department=dept
            )
            if found:
                return found
        return self._with("clerk")

    def principals(self, ids: Iterable[int]) -> list[Principal]:
        return [self.staff[i].who for i in ids if i in self.staff]

    def resolve(self, audience: str, user: int | None, dept: int | None) -> tuple[int, ...]:
        key = (audience, user, dept)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if audience == reminders.HANDLER:
            ids = [user] if user in self.staff else self._department(dept)
        elif audience == reminders.DEPARTMENT:
            ids = self._department(dept)
        elif audience in (reminders.OVERSIGHT, reminders.LEADERS):
            ids = self._with("supervisor", "leader")
        else:  # DESK
            ids = self._with("clerk", "supervisor")
        out = tuple(dict.fromkeys(ids))
        self._cache[key] = out
        return out


async def load_staff(scope: Scope) -> list[Staff]:
    rows = await sql.fetch(
        "SELECT u.id, u.tenant_id, u.username, u.title, u.display_name, u.roles,"
        " u.department_id, t.slug"
        " FROM staff_user u JOIN tenant t ON t.id = u.tenant_id"
        " WHERE u.tenant_id = $1 AND u.active",
        scope.tenant_id,
    )
    out = []
    for r in rows:
        who = principal_of(scope.rt.keys, r["slug"], r)
        out.append(Staff(r["id"], who.roles, r["department_id"], who))
    return out
