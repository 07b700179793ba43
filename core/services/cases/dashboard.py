"""工作台: what the dashboard ``/`` shows a staff member, read in one transaction — today's
reception (sessions and duty leaders), their saved-filter blocks (the same filters as the
case list, first few matters and how many) and the tenant's key counts this month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.plugins import TenantInfo
from core.services import rota, sessions, users
from core.services.answers import SessionOut
from core.services.cases import search
from core.services.cases.answers import CasePage
from core.services.cases.reading import count_cases, list_cases
from core.services.cases.search import VIEWS, CaseFilter, parse_filter
from core.services.rota.answers import RotaSlotOut
from core.services.scope import Scope
from core.services.visibility import hidden_from


@dataclass(frozen=True)
class Block:
    name: str
    title: str
    page: CasePage
    total: int


@dataclass(frozen=True)
class Count:
    name: str
    title: str
    count: int
    query: dict[str, str] | None
    """The case list's query string that lists them (None: no list filter does)."""


@dataclass(frozen=True)
class Dashboard:
    today: date
    sessions: list[SessionOut]
    slots: list[RotaSlotOut]
    people: dict[int, str]
    blocks: list[Block]
    counts: list[Count]


def blocks_for(roles: frozenset[str]) -> list[str]:
    """Which saved filters a person's dashboard shows, by what they do."""
    names = ["due_soon", "overdue"]
    if roles & {"clerk", "supervisor", "admin"}:
        names.append("incoming")
    if "supervisor" in roles:
        names.append("reports")
    if roles & {"handler", "clerk"}:
        names.append("department")
    return names


async def _block(scope: Scope, tenant: TenantInfo, today: search.Today, name: str) -> Block:
    f = await parse_filter(scope, tenant, {"view": name})
    page = await list_cases(scope, limit=5, filters=f, tenant=tenant, today=today)
    # A short list is its own count; only a longer one needs counting.
    total = (
        len(page.items)
        if page.next_after is None
        else await count_cases(scope, f, tenant=tenant, today=today)
    )
    return Block(name, VIEWS[name].title_zh, page, total)


async def _counts(scope: Scope, tenant: TenantInfo, today: search.Today) -> list[Count]:
    start, end = today.day.replace(day=1), today.day
    kw: dict[str, Any] = {"tenant": tenant, "today": today}
    month = {"received_from": start.isoformat(), "received_to": end.isoformat()}
    return [
        Count(
            "registered",
            "本月登记",
            await count_cases(scope, CaseFilter(received_from=start, received_to=end), **kw),
            month,
        ),
        Count(
            "accepted",
            "本月受理",
            await search.count_accepted(scope, start, end, hidden_from(scope.actor)),
            None,
        ),
        Count(
            "closed",
            "本月办结",
            await count_cases(scope, None, search.closed_between(start, end), **kw),
            None,
        ),
        Count(
            "overdue",
            "当前超期",
            await count_cases(scope, CaseFilter(overdue=True), **kw),
            {"overdue": "1"},
        ),
    ]


async def dashboard(scope: Scope, tenant: TenantInfo) -> Dashboard:
    """The acting person's dashboard (one read transaction: the services it calls join it)."""
    async with scope.tx(write=False):
        today = await search.today_of(scope, tenant)
        day = today.day
        todays = await sessions.list_sessions(scope, start=day, end=day)
        slots = [
            s for s in await rota.list_slots(scope, start=day, end=day) if s.status != "cancelled"
        ]
        people = {u.id: u.display_name for u in await users.list_users(scope)}
        blocks = [await _block(scope, tenant, today, n) for n in blocks_for(scope.actor.roles)]
        counts = await _counts(scope, tenant, today)
    return Dashboard(day, todays, slots, people, blocks, counts)
