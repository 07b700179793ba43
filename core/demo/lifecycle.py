"""Move the demo cases along the lifecycle so every list shows several states.

As a real office would, the written notice (告知) follows each decision to accept or
transfer; the matter left 已登记 has none yet (nothing decided to tell)."""

from __future__ import annotations

import logging
from typing import Any

from core.db.tables import StaffUser
from core.errors import DomainError
from core.schemas import ActionIn
from core.services import cases, lifecycle, users
from core.services.scope import Scope

log = logging.getLogger(__name__)

# Per case index within a tenant: the steps (action, role, fields) to take.
PLANS: list[list[tuple[str, str, dict[str, Any]]]] = [
    [],  # stays 已登记
    [
        ("accept", "clerk", {}),
        ("notify", "clerk", {"note": "受理告知书"}),
        ("start_handling", "clerk", {"handler": True}),
    ],
    [
        ("accept", "clerk", {}),
        ("notify", "clerk", {"note": "受理告知书"}),
        ("start_handling", "clerk", {"handler": True}),
        ("report", "handler", {"note": "已现场核实并处理，信访人表示认可。"}),
        (
            "approve_report",
            "supervisor",
            {"opinion": "support", "opinion_text": "诉求合理，已予解决。"},
        ),
    ],
]
TRANSFERS = {"petition-bureau": "north-heating"}
# How the notice reaches a petitioner who came by this channel.
NOTICE_BY_CHANNEL = {"visit": "in_person", "letter": "post", "phone": "sms", "online": "online"}


async def _people(sc: Scope) -> dict[str, Scope]:
    """One acting staff member per role, resolved as a request would be: their scope."""
    async with sc.tx(write=False):
        rows = (
            await sc.select(StaffUser, StaffUser.id, StaffUser.roles)
            .order_by(StaffUser.id)
            .output(load_json=True)
        )
    first: dict[str, int] = {}
    for r in rows:
        for role in r["roles"]:
            first.setdefault(role, r["id"])
    return {
        role: Scope.of(sc.rt, await users.principal_for(sc, uid)) for role, uid in first.items()
    }


async def advance(sc: Scope) -> None:
    rt, slug = sc.rt, sc.tenant_slug
    people = await _people(sc)
    items = (await cases.list_cases(people["clerk"], limit=50)).items
    for index, case in enumerate(reversed(items)):  # oldest first
        if case.status != "registered":
            continue
        steps = list(PLANS[index % len(PLANS)])
        if index == 1 and slug in TRANSFERS:
            steps = [
                ("transfer", "clerk", {"to_tenant": TRANSFERS[slug], "note": "属供热企业职责"}),
                ("notify", "clerk", {"note": "转送告知书"}),
            ]
        for action, role, fields in steps:
            data = dict(fields)
            if data.pop("handler", False):
                data["handler_id"] = people["handler"].actor.user_id
            try:
                if action == "notify":
                    notice = lifecycle.Notice(
                        NOTICE_BY_CHANNEL[case.channel], rt.clock.today(), data["note"]
                    )
                    await lifecycle.record_notice(people[role], case.id, notice)
                    continue
                await lifecycle.perform(people[role], case.id, action, ActionIn(**data))
            except DomainError as exc:
                # A sector rule may require a step the demo does not take; keep the state.
                log.info("demo case %s stops before %s: %s", case.id, action, exc.code)
                break
