"""The demo matters: each organization's causes (``people.CAUSES``) registered by its
clerk, as the reception desk would, on the days before today."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.demo.people import CAUSES, PEOPLE, demo_id_number
from core.principal import Principal
from core.schemas import AccusedIn, CaseIn, PersonIn, VisitorIn
from core.services import cases
from core.services.scope import Scope

CHANNELS = ("visit", "letter", "phone", "online")


async def register_demo_cases(
    sc: Scope, clerk: Principal, spec: dict[str, Any], dept_ids: dict[str, int]
) -> None:
    """Register the organization's demo matters as its clerk."""
    rt = sc.rt
    for i, item in enumerate(CAUSES[spec["slug"]]):
        name, birth, phone = PEOPLE[i % len(PEOPLE)]
        headcount = item.get("headcount", 1)
        reps = [
            PersonIn(name=f"代表{j + 1}", phone=f"1390000{i:02d}{j:02d}")
            for j in range(item.get("reps", 0))
        ]
        await cases.register_case(
            Scope.of(rt, clerk),
            CaseIn(
                channel=CHANNELS[i % 4],  # type: ignore[arg-type]
                visitor=VisitorIn(
                    name=name,
                    id_number=demo_id_number(spec["region"], birth, 11 + i),
                    phone=phone,
                    address=f"{item['locality']} {i + 1} 单元 {i + 1}01 室",
                ),
                received_at=rt.clock.now() - timedelta(days=3 * i + 1),
                headcount=headcount,
                representatives=reps,
                category=item["category"],
                purpose=item.get("purpose", "personal"),
                legal_category=item.get("legal_category", "claim"),
                locality=item["locality"],
                cause=item["cause"],
                demand=item["demand"],
                form=item.get("form", {}),
                accused=(
                    AccusedIn(
                        department_ids=[dept_ids[item["accused_department"]]],
                        description=item.get("accused_description", ""),
                    )
                    if item.get("accused_department")
                    else None
                ),
            ),
        )
