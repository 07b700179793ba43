"""/api/v1/inbox — the caller's own in-app notifications."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.params import Parameter

from core.schemas import MAX_ID, Id
from core.services import inbox
from core.web.auth import CallerScope, requires_staff


class InboxController(Controller):
    path = "/inbox"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_messages(
        self,
        sc: CallerScope,
        unread: Annotated[bool, Parameter(description="只看未读")] = False,
        before: Annotated[
            Id | None, Parameter(ge=1, le=MAX_ID, description="上一页最后一条的 id")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=200, description="每页条数")] = 50,
    ) -> dict[str, Any]:
        return await inbox.list_messages(sc, unread=unread, before=before, limit=limit)

    @get("/unread-count")
    async def unread_count(self, sc: CallerScope) -> dict[str, int]:
        return {"unread": await inbox.unread_count(sc)}

    @post("/{message_id:int}/read", status_code=200)
    async def mark_read(self, sc: CallerScope, message_id: Id) -> dict[str, Any]:
        return await inbox.mark_read(sc, message_id)

    @post("/read-all", status_code=200)
    async def mark_all_read(self, sc: CallerScope) -> dict[str, int]:
        return {"marked": await inbox.mark_all_read(sc)}


def inbox_router() -> Router:
    return Router(path="/api/v1", route_handlers=[InboxController], tags=["inbox"])
