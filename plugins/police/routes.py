"""Police plugin routes, mounted at /api/v1/plugins/police/ (404 where not enabled).

Handlers declare ``ctx: RouteContext`` (the plugin's context for the caller's tenant, acting as the
caller): cases hidden from the caller are 404, events are recorded as theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta, Struct

from core.plugin_api import HookContext, Id, InvalidInput, RouteContext, requires

Text = Annotated[str, Meta(max_length=2000)]
OfficerName = Annotated[str, Meta(min_length=1, max_length=100)]


class ResultToldIn(Struct, forbid_unknown_fields=True):
    method: Method
    told_at: datetime | None = None
    note: Text = ""


class HandoverIn(Struct, forbid_unknown_fields=True):
    behaviour: Behaviour
    receiving_officer: OfficerName
    at: datetime | None = None
    note: Text = ""


Method = Literal["in_person", "phone", "letter", "sms", "online"]
Behaviour = Literal["disruptive", "emergency", "self_harm", "other"]


class ResultTold(Struct):
    """The ``result_told`` event recorded on the case; ``told_at`` is ISO 8601."""

    case_id: int
    receipt_code: str
    kind: Literal["result_told"]
    method: Method
    told_at: str
    note: str


class Handover(Struct):
    """The ``handover`` event recorded on the case; ``at`` is ISO 8601."""

    case_id: int
    receipt_code: str
    kind: Literal["handover"]
    behaviour: Behaviour
    receiving_officer: str
    at: str
    note: str


def _when(ctx: HookContext, value: datetime | None, field: str) -> datetime:
    now = ctx.now()
    if value is None:
        return now
    if value.tzinfo is None:
        raise InvalidInput(
            "timezone_required", "时间需带时区，例如 2026-11-23T09:30:00+08:00。", field=field
        )
    if value > now:
        raise InvalidInput("time_in_future", "时间不能晚于当前时间。", field=field)
    return value


async def _record(ctx: HookContext, case_id: int, kind: str, data: dict[str, Any]) -> str:
    """Record the event; the case's receipt code (404 for unknown or hidden cases)."""
    case = await ctx.cases.require(case_id)
    await ctx.events.record(case_id, kind, data)
    return case.receipt_code


@post(
    "/cases/{case_id:int}/result-told",
    status_code=HTTP_201_CREATED,
    guards=[requires("clerk", "handler", "supervisor", "leader")],
)
async def result_told(ctx: RouteContext, case_id: Id, data: JSONBody[ResultToldIn]) -> ResultTold:
    """登记处理结果已告知信访人（办结前的必经步骤）。"""
    told_at = _when(ctx, data.told_at, "told_at").isoformat()
    event = {"method": data.method, "told_at": told_at, "note": data.note}
    return ResultTold(
        case_id=case_id,
        receipt_code=await _record(ctx, case_id, "result_told", event),
        kind="result_told",
        method=data.method,
        told_at=told_at,
        note=data.note,
    )


@post(
    "/cases/{case_id:int}/handover",
    status_code=HTTP_201_CREATED,
    guards=[requires("clerk", "handler", "supervisor", "leader")],
)
async def handover(ctx: RouteContext, case_id: Id, data: JSONBody[HandoverIn]) -> Handover:
    """登记现场过激行为/紧急情况的移交：时间与接收民警。"""
    at = _when(ctx, data.at, "at").isoformat()
    event = {
        "behaviour": data.behaviour,
        "receiving_officer": data.receiving_officer,
        "at": at,
        "note": data.note,
    }
    return Handover(
        case_id=case_id,
        receipt_code=await _record(ctx, case_id, "handover", event),
        kind="handover",
        behaviour=data.behaviour,
        receiving_officer=data.receiving_officer,
        at=at,
        note=data.note,
    )


ROUTES = [result_told, handover]
