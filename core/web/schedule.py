"""Rota API for staff (/api/v1/rota/…) and the public schedule feeds (/t/{tenant}/…).

Handlers only translate HTTP ↔ core.services.rota. Public routes resolve the tenant from
the path slug (unknown or inactive → 404) and show published slots only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from core.errors import NotFound
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import Id
from core.services import rota
from core.web.auth import requires, requires_admin, requires_scheduler, requires_staff, runtime_of

Req = Request[Principal, Any, Any]
ICS = "text/calendar"  # Litestar appends "; charset=utf-8" to text types itself
requires_leader = requires("leader")


def _ctx(request: Req) -> tuple[Runtime, Principal]:
    return runtime_of(request), request.user


class RotaController(Controller):
    path = "/api/v1/rota"
    guards = [requires_staff]  # noqa: RUF012
    tags = ["rota"]  # noqa: RUF012

    @get("/templates")
    async def list_templates(self, request: Req) -> list[dict[str, Any]]:
        rt, p = _ctx(request)
        return await rota.list_templates(rt, p)

    @post("/templates", guards=[requires_admin], status_code=HTTP_201_CREATED)
    async def create_template(
        self, request: Req, data: JSONBody[rota.TemplateIn]
    ) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.create_template(rt, p, data)

    @post("/generate", guards=[requires_scheduler], status_code=HTTP_200_OK)
    async def generate(self, request: Req) -> dict[str, int]:
        rt, p = _ctx(request)
        return await rota.generate(rt, p.tenant_id)

    @post("/publish", guards=[requires_scheduler], status_code=HTTP_200_OK)
    async def publish(self, request: Req, data: JSONBody[rota.PublishIn]) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.publish(rt, p, data)

    @get("/slots")
    async def list_slots(
        self,
        request: Req,
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        mine: FromQuery[bool] = False,
    ) -> list[dict[str, Any]]:
        rt, p = _ctx(request)
        leader = p.user_id if mine else None
        return await rota.list_slots(rt, p, start=start, end=end, status=status, leader_id=leader)

    @post("/slots/{slot_id:int}/swap", guards=[requires_leader], status_code=HTTP_201_CREATED)
    async def request_swap(
        self, request: Req, slot_id: Id, data: JSONBody[rota.SwapIn]
    ) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.request_swap(rt, p, slot_id, data)

    @post("/slots/{slot_id:int}/override", guards=[requires_admin], status_code=HTTP_200_OK)
    async def override(
        self, request: Req, slot_id: Id, data: JSONBody[rota.OverrideIn]
    ) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.override(rt, p, slot_id, data)

    @get("/changes")
    async def list_changes(
        self, request: Req, status: Annotated[str | None, Parameter(max_length=16)] = None
    ) -> list[dict[str, Any]]:
        rt, p = _ctx(request)
        return await rota.list_changes(rt, p, status=status)

    @post("/changes/{change_id:int}/approve", guards=[requires_admin], status_code=HTTP_200_OK)
    async def approve(self, request: Req, change_id: Id) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.decide_swap(rt, p, change_id, approve=True)

    @post("/changes/{change_id:int}/reject", guards=[requires_admin], status_code=HTTP_200_OK)
    async def reject(self, request: Req, change_id: Id) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.decide_swap(rt, p, change_id, approve=False)

    @get("/leave")
    async def list_leave(self, request: Req) -> list[dict[str, Any]]:
        rt, p = _ctx(request)
        return await rota.list_leave(rt, p)

    @post("/leave", status_code=HTTP_201_CREATED)
    async def add_leave(self, request: Req, data: JSONBody[rota.LeaveIn]) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.add_leave(rt, p, data)

    @post("/feed-token", guards=[requires_leader], status_code=HTTP_201_CREATED)
    async def create_feed_token(self, request: Req) -> dict[str, Any]:
        rt, p = _ctx(request)
        return await rota.create_feed_token(rt, p)

    @delete("/feed-token", guards=[requires_leader], status_code=HTTP_200_OK)
    async def revoke_feed_tokens(self, request: Req) -> dict[str, int]:
        rt, p = _ctx(request)
        return await rota.revoke_feed_tokens(rt, p)


class PublicScheduleController(Controller):
    path = "/t/{tenant:str}"
    tags = ["public"]  # noqa: RUF012

    @get("/schedule.json")
    async def schedule_json(self, request: Req, tenant: FromPath[str]) -> dict[str, Any]:
        return await rota.public_schedule(runtime_of(request), tenant)

    @get("/schedule.ics", media_type=ICS)
    async def schedule_ics(self, request: Req, tenant: FromPath[str]) -> Response[bytes]:
        body = await rota.public_ics(runtime_of(request), tenant)
        return Response(body, media_type=ICS, headers={"Cache-Control": "max-age=300"})

    @get("/leaders/{feed:str}", media_type=ICS)
    async def leader_ics(
        self, request: Req, tenant: FromPath[str], feed: FromPath[str]
    ) -> Response[bytes]:
        token = feed.removesuffix(".ics")
        if not token or len(token) > 100:
            raise NotFound("feed_not_found", "日历订阅地址无效或已撤销。")
        body = await rota.leader_ics(runtime_of(request), tenant, token)
        return Response(body, media_type=ICS, headers={"Cache-Control": "private, no-store"})


def schedule_router() -> Router:
    """Staff rota API and public schedule feeds; register in core.web.app."""
    return Router(path="/", route_handlers=[RotaController, PublicScheduleController])
