"""After the opinion: the visitor's review (复查) and re-review (复核) within their
windows, their decisions, the follow-up visit (回访) and the report upward (摘报)."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.db.tables import PetitionCase
from core.domain.deadlines import compute_deadline
from core.errors import Conflict, InvalidInput
from core.services import deadlines
from core.services.lifecycle.context import Ctx, Step, local_today, required
from core.services.lifecycle.handling import close_with_opinion
from core.settings import TIMEZONE


async def _window(c: Ctx, clock: str) -> tuple[date, date]:
    """The visitor's request window, counted from the last opinion."""
    opinion_at = c.case["opinion_at"] or c.case["closed_at"]
    if opinion_at is None:
        raise Conflict("no_opinion", "尚未出具处理意见，不能申请复查或复核。", field="action")
    start = opinion_at.astimezone(TIMEZONE).date()
    pack = deadlines.pack_for(c.scope, c.tenant)
    return start, compute_deadline(pack, clock, start, await deadlines.work_calendar()).due


async def _request_review_common(c: Ctx, level: int, clock: str, name: str) -> dict[str, Any]:
    if c.case["review_level"] != level:
        if level == 0:
            raise Conflict(
                "review_done",
                "该事项已经复查，如不服复查意见请申请复核。",
                field="action",
            )
        raise Conflict(
            "review_first", "须先申请复查，对复查意见不服的才能申请复核。", field="action"
        )
    start, due = await _window(c, clock)
    on = c.data.on or local_today(c.rt)
    if on > local_today(c.rt) or on < start:
        raise InvalidInput("invalid_date", "申请日期不正确。", field="on")
    if on > due:
        raise Conflict(
            "request_window_closed",
            f"{name}申请期限已于 {due} 届满（收到意见之日起 30 日）。",
            field="on",
            due=due.isoformat(),
        )
    reason = required(c.data.reason, "reason", f"{name}理由")
    decide = "review_decide" if level == 0 else "rereview_decide"
    clock_out = await c.start(decide, start=on)
    return {"reason": reason, "requested_on": on.isoformat(), "deadline": clock_out}


async def _request_review(c: Ctx) -> dict[str, Any]:
    return await _request_review_common(c, 0, "review_request", "复查")


async def _request_rereview(c: Ctx) -> dict[str, Any]:
    return await _request_review_common(c, 1, "rereview_request", "复核")


async def _decide_review(c: Ctx) -> dict[str, Any]:
    out = await close_with_opinion(c)
    c.values[PetitionCase.review_level] = 1
    return out


async def _decide_rereview(c: Ctx) -> dict[str, Any]:
    out = await close_with_opinion(c)
    c.values[PetitionCase.review_level] = 2
    out["final"] = True
    return out


SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


async def _follow_up(c: Ctx) -> dict[str, Any]:
    note = required(c.data.note, "note", "回访情况")
    satisfaction = required(c.data.satisfaction, "satisfaction", "满意度")
    c.flags["satisfaction"] = satisfaction
    return {
        "note": note,
        "satisfaction": satisfaction,
        "satisfaction_zh": SATISFACTION_ZH[satisfaction],
    }


async def _report_upward(c: Ctx) -> dict[str, Any]:
    return {"summary": required(c.data.note, "note", "摘报内容")}


STEPS: dict[str, Step] = {
    "request_review": _request_review,
    "decide_review": _decide_review,
    "request_rereview": _request_rereview,
    "decide_rereview": _decide_rereview,
    "follow_up": _follow_up,
    "report_upward": _report_upward,
}
