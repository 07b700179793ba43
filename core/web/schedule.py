"""Rota API for staff (/api/v1/rota/…) and the public schedule feeds (/t/{tenant}/…).

Handlers only translate HTTP ↔ core.services.rota. Staff handlers take the request's
scope (``sc``); public routes resolve the tenant from the path slug (unknown or inactive
→ 404), act as the system for it and show published slots only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from core.errors import NotFound
from core.schemas import Id
from core.services import rota, tenants
from core.services.rota.answers import (
    FeedTokenInfo,
    FeedTokenOut,
    GeneratePreview,
    GenerateResult,
    LeaveOut,
    LeaveResult,
    PublicSchedule,
    PublishResult,
    RevokeResult,
    RotaChangeOut,
    RotaSlotOut,
    RotaTemplateOut,
)
from core.services.rota.schemas import LeaveIn, OverrideIn, PublishIn, SwapIn, TemplateIn
from core.services.scope import Scope
from core.web.auth import (
    CallerScope,
    requires,
    requires_admin,
    requires_scheduler,
    requires_staff,
    runtime_of,
)

ICS = "text/calendar"  # Litestar appends "; charset=utf-8" to text types itself
requires_leader = requires("leader")


class RotaController(Controller):
    path = "/api/v1/rota"
    guards = [requires_staff]  # noqa: RUF012
    tags = ["rota"]  # noqa: RUF012

    @get("/templates")
    async def list_templates(self, sc: CallerScope) -> list[RotaTemplateOut]:
        return await rota.list_templates(sc)

    @post("/templates", guards=[requires_admin], status_code=HTTP_201_CREATED)
    async def create_template(self, sc: CallerScope, data: JSONBody[TemplateIn]) -> RotaTemplateOut:
        return await rota.create_template(sc, data)

    @get("/templates/{template_id:int}")
    async def get_template(self, sc: CallerScope, template_id: Id) -> RotaTemplateOut:
        return await rota.get_template(sc, template_id)

    @put("/templates/{template_id:int}", guards=[requires_admin])
    async def update_template(
        self, sc: CallerScope, template_id: Id, data: JSONBody[TemplateIn]
    ) -> RotaTemplateOut:
        return await rota.update_template(sc, template_id, data)

    @get("/generate/preview", guards=[requires_scheduler])
    async def preview_generation(self, sc: CallerScope) -> GeneratePreview:
        """What ``POST /generate`` would create now; nothing is stored."""
        return await rota.preview_generation(sc)

    @post("/generate", guards=[requires_scheduler], status_code=HTTP_200_OK)
    async def generate(self, sc: CallerScope) -> GenerateResult:
        return await rota.generate(sc)

    @post("/publish", guards=[requires_scheduler], status_code=HTTP_200_OK)
    async def publish(self, sc: CallerScope, data: JSONBody[PublishIn]) -> PublishResult:
        return await rota.publish(sc, data)

    @get("/slots")
    async def list_slots(
        self,
        sc: CallerScope,
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        mine: FromQuery[bool] = False,
    ) -> list[RotaSlotOut]:
        leader = sc.actor.user_id if mine else None
        return await rota.list_slots(sc, start=start, end=end, status=status, leader_id=leader)

    @get("/slots/{slot_id:int}")
    async def get_slot(self, sc: CallerScope, slot_id: Id) -> RotaSlotOut:
        return await rota.get_slot(sc, slot_id)

    @post("/slots/{slot_id:int}/swap", guards=[requires_leader], status_code=HTTP_201_CREATED)
    async def request_swap(
        self, sc: CallerScope, slot_id: Id, data: JSONBody[SwapIn]
    ) -> RotaChangeOut:
        return await rota.request_swap(sc, slot_id, data)

    @post("/slots/{slot_id:int}/override", guards=[requires_admin], status_code=HTTP_200_OK)
    async def override(
        self, sc: CallerScope, slot_id: Id, data: JSONBody[OverrideIn]
    ) -> RotaSlotOut:
        return await rota.override(sc, slot_id, data)

    @get("/changes")
    async def list_changes(
        self,
        sc: CallerScope,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
    ) -> list[RotaChangeOut]:
        return await rota.list_changes(sc, status=status)

    @post("/changes/{change_id:int}/approve", guards=[requires_admin], status_code=HTTP_200_OK)
    async def approve(self, sc: CallerScope, change_id: Id) -> RotaChangeOut:
        return await rota.decide_swap(sc, change_id, approve=True)

    @post("/changes/{change_id:int}/reject", guards=[requires_admin], status_code=HTTP_200_OK)
    async def reject(self, sc: CallerScope, change_id: Id) -> RotaChangeOut:
        return await rota.decide_swap(sc, change_id, approve=False)

    @get("/leave")
    async def list_leave(self, sc: CallerScope) -> list[LeaveOut]:
        return await rota.list_leave(sc)

    @post("/leave", status_code=HTTP_201_CREATED)
    async def add_leave(self, sc: CallerScope, data: JSONBody[LeaveIn]) -> LeaveResult:
        return await rota.add_leave(sc, data)

    @get("/feed-token", guards=[requires_leader])
    async def feed_tokens(self, sc: CallerScope) -> list[FeedTokenInfo]:
        """The caller's active feed links (prefix and date; the URL is shown once)."""
        return await rota.feed_tokens(sc)

    @post("/feed-token", guards=[requires_leader], status_code=HTTP_201_CREATED)
    async def create_feed_token(self, sc: CallerScope) -> FeedTokenOut:
        return await rota.create_feed_token(sc)

    @delete("/feed-token", guards=[requires_leader], status_code=HTTP_200_OK)
    async def revoke_feed_tokens(self, sc: CallerScope) -> RevokeResult:
        return await rota.revoke_feed_tokens(sc)


async def _public_scope(request: Request[Any, Any, Any], slug: str) -> Scope:
    """The system acting for the (active) tenant in the path; 404 for any other."""
    rt = runtime_of(request)
    tenant = await tenants.get_tenant_by_slug(rt, slug)
    return Scope.system(rt, tenant.id, tenant.slug)


class PublicScheduleController(Controller):
    path = "/t/{tenant:str}"
    tags = ["public"]  # noqa: RUF012

    @get("/schedule.json")
    async def schedule_json(
        self, request: Request[Any, Any, Any], tenant: FromPath[str]
    ) -> PublicSchedule:
        return await rota.public_schedule(await _public_scope(request, tenant))

    @get("/schedule.ics", media_type=ICS)
    async def schedule_ics(
        self, request: Request[Any, Any, Any], tenant: FromPath[str]
    ) -> Response[bytes]:
        body = await rota.public_ics(await _public_scope(request, tenant))
        return Response(body, media_type=ICS, headers={"Cache-Control": "max-age=300"})

    @get("/leaders/{feed:str}", media_type=ICS)
    async def leader_ics(
        self, request: Request[Any, Any, Any], tenant: FromPath[str], feed: FromPath[str]
    ) -> Response[bytes]:
        token = feed.removesuffix(".ics")
        if not token or len(token) > 100:
            raise NotFound("feed_not_found", "日历订阅地址无效或已撤销。")
        body = await rota.leader_ics(await _public_scope(request, tenant), token)
        return Response(body, media_type=ICS, headers={"Cache-Control": "private, no-store"})


def schedule_router() -> Router:
    """Staff rota API and public schedule feeds; register in core.web.app."""
    return Router(path="/", route_handlers=[RotaController, PublicScheduleController])
