"""Demo data: a published reception-day rota, so the public schedule and feeds show
something on a fresh demo install."""

from __future__ import annotations

from core.principal import Principal
from core.services.rota.answers import DemoRotaResult
from core.services.rota.generation import generate
from core.services.rota.schemas import PublishIn, TemplateIn
from core.services.rota.slots import publish
from core.services.rota.templates import create_template
from core.services.scope import Scope


async def install_demo_rota(scope: Scope, admin_id: int, leader_ids: list[int]) -> DemoRotaResult:
    """Every Monday the leaders rotate (holiday → next working day), generated for the
    horizon and published; the template is created and published as the admin."""
    admin = Principal(
        tenant_id=scope.tenant_id,
        tenant_slug=scope.tenant_slug,
        user_id=admin_id,
        username="admin",
        display_name="admin",
        roles=frozenset({"admin"}),
    )
    as_admin = Scope.of(scope.rt, admin)
    await create_template(
        as_admin,
        TemplateIn(
            key="monday_leader_day",
            title_zh="领导信访接待日",
            leaders=leader_ids,
            place="一楼信访接待室",
            weekdays=[0],
            holiday_policy="next_workday",
        ),
    )
    made = await generate(scope)
    published = await publish(as_admin, PublishIn())
    return DemoRotaResult(
        created=made.created, unfilled=made.unfilled, published=published.published
    )
