"""The handling steps proper: accept or not, assign (and its approval), start,
coordinate, extend (and its approval), report, close with an opinion or return the
report, chase, pause and resume the decision clocks, recuse."""

from __future__ import annotations

from datetime import date
from typing import Any

from core import links
from core.db.tables import CaseDeadline, CaseExclusion, PetitionCase, StaffUser
from core.errors import Conflict, InvalidInput
from core.schemas import OPINION_ZH, REDIRECT_CHANNEL_ZH
from core.services import deadlines, events
from core.services.lifecycle.context import (
    DECISION_CLOCKS,
    Ctx,
    Step,
    check_actor_free,
    check_department,
    check_handler,
    local_today,
    required,
)


async def _accept(c: Ctx) -> dict[str, Any]:
    await c.settle("accept")
    clock = await c.start(c.handle_clock())
    return {"note": c.data.note, "deadline": clock}


async def _not_accept(c: Ctx) -> dict[str, Any]:
    channel = required(c.data.channel, "channel", "应当告知的途径（诉讼、仲裁、行政复议等）")
    reason = required(c.data.reason, "reason", "不予受理的理由")
    await c.settle("accept")
    c.values[PetitionCase.opinion_at] = c.now
    notice = (
        f"您反映的事项属于应当通过{REDIRECT_CHANNEL_ZH[channel]}途径解决的事项，"
        f"本机关不予受理，请依法向有关机关提出。理由：{reason}"
    )
    return {"channel": channel, "reason": reason, "notice": notice}


async def _assign(c: Ctx) -> dict[str, Any]:
    handler_id = required(c.data.handler_id, "handler_id", "承办人")
    plan = required(c.data.plan, "plan", "调查处理方案")
    await check_handler(c.scope, c.cid, handler_id, "handler_id")
    if c.data.department_id is not None:
        await check_department(c.scope, c.data.department_id, "department_id")
    c.flags["assignment"] = {
        "handler_id": handler_id,
        "department_id": c.data.department_id,
        "plan": plan,
        "by": c.actor.user_id,
    }
    return {"handler_id": handler_id, "department_id": c.data.department_id, "plan": plan}


async def _approve_assignment(c: Ctx) -> dict[str, Any]:
    await check_actor_free(c.scope, c.cid)
    a = c.flags.pop("assignment", None) or {}
    handler_id = a.get("handler_id")
    if handler_id is not None:
        await check_handler(c.scope, c.cid, handler_id, "handler_id")
        c.values[PetitionCase.assignee_id] = handler_id
    if a.get("department_id"):
        c.values[PetitionCase.department_id] = a["department_id"]
    await _retarget_clocks(c, handler_id, a.get("department_id"))
    return {"handler_id": handler_id, "comment": c.data.note}


async def _retarget_clocks(c: Ctx, user_id: int | None, department_id: int | None) -> None:
    values: dict[Any, Any] = {CaseDeadline.updated_at: c.now}
    if user_id is not None:
        values[CaseDeadline.responsible_user_id] = user_id
    if department_id is not None:
        values[CaseDeadline.responsible_department_id] = department_id
    await c.scope.update(CaseDeadline, values).where(
        (CaseDeadline.case_id == c.cid) & (CaseDeadline.state == "open")
    )


async def _reject_assignment(c: Ctx) -> dict[str, Any]:
    await check_actor_free(c.scope, c.cid)
    reason = required(c.data.reason, "reason", "不批准的理由")
    c.flags.pop("assignment", None)
    return {"reason": reason}


async def _start_handling(c: Ctx) -> dict[str, Any]:
    handler_id = c.data.handler_id
    if handler_id is None and "handler" in c.actor.roles:
        handler_id = c.actor.user_id
    handler_id = required(handler_id, "handler_id", "承办人")
    await check_handler(c.scope, c.cid, handler_id, "handler_id")
    c.values[PetitionCase.assignee_id] = handler_id
    await _retarget_clocks(c, handler_id, None)
    return {"handler_id": handler_id}


async def _coordinate(c: Ctx) -> dict[str, Any]:
    minutes = required(c.data.minutes, "minutes", "会议纪要")
    present = required(c.data.department_ids, "department_ids", "参会部门")
    for i, dep in enumerate(present):
        await check_department(c.scope, dep, f"department_ids[{i}]")
    return {
        "minutes": minutes,
        "department_ids": present,
        "held_on": str(c.data.on or local_today(c.rt)),
    }


def _not_paused(c: Ctx) -> None:
    if c.flags.get("paused"):
        raise Conflict(
            "paused",
            "计时中止期间不能延期：中止的时间本就不计入期限，请先恢复计时。",
            field="action",
        )


async def _request_extension(c: Ctx) -> dict[str, Any]:
    _not_paused(c)
    pack = deadlines.pack_for(c.scope, c.tenant)
    days = required(c.data.days, "days", "延长天数")
    reason = required(c.data.reason, "reason", "延期理由（将告知信访人）")
    if c.flags.get("extension_request"):
        raise Conflict("extension_pending", "已有待批准的延期申请。", field="action")
    if int(c.flags.get("extensions", 0)) >= pack.max_extensions:
        raise Conflict(
            "extension_limit",
            f"依据 {pack.title_zh}，办理期限只能延长 {pack.max_extensions} 次，已延长过。",
            field="action",
        )
    if days > pack.extension_max_days:
        raise InvalidInput(
            "extension_too_long",
            f"延长期限不得超过 {pack.extension_max_days} 日（{pack.clocks['extension'].basis}）。",
            field="days",
        )
    c.flags["extension_request"] = {
        "requested_at": c.now.isoformat(),
        "days": days,
        "reason": reason,
        "requested_by": c.actor.user_id,
    }
    return {"days": days, "reason": reason}


async def _approve_extension(c: Ctx) -> dict[str, Any]:
    await check_actor_free(c.scope, c.cid)
    _not_paused(c)
    req = c.flags.pop("extension_request", None)
    if not req:
        raise Conflict("no_extension_request", "没有待批准的延期申请。", field="action")
    current = [
        r for r in await deadlines.open_clocks(c.scope, c.cid) if r["clock"] in DECISION_CLOCKS
    ]
    if not current:
        raise Conflict("no_running_clock", "该事项没有正在计算的办理期限。", field="action")
    old = current[-1]
    await deadlines.settle(c.scope, c.cid, [old["clock"]], now=c.now, state="superseded")
    clock = await c.start("extension", start=old["due"], days=int(req["days"]))
    c.flags["extensions"] = int(c.flags.get("extensions", 0)) + 1
    notice = (
        f"因{req['reason']}，经本机关负责人批准，办理期限延长 {req['days']} 日，至 {clock['due']}。"
    )
    return {
        "days": req["days"],
        "reason": req["reason"],
        "old_due": old["due"].isoformat(),
        "deadline": clock,
        "notice": notice,
    }


async def _reject_extension(c: Ctx) -> dict[str, Any]:
    await check_actor_free(c.scope, c.cid)
    if not c.flags.pop("extension_request", None):
        raise Conflict("no_extension_request", "没有待批准的延期申请。", field="action")
    return {"reason": required(c.data.reason, "reason", "不批准的理由")}


async def _report(c: Ctx) -> dict[str, Any]:
    # Only the assignee reports (RELATIONS); the reviewer is someone else (FOUR_EYES).
    return {"content": required(c.data.note, "note", "回告内容（办理情况）")}


async def close_with_opinion(c: Ctx) -> dict[str, Any]:
    await check_actor_free(c.scope, c.cid)
    opinion = required(c.data.opinion, "opinion", "处理意见（支持/解释说明/不支持）")
    text = required(c.data.opinion_text, "opinion_text", "处理意见书内容")
    await c.settle(*DECISION_CLOCKS)
    c.flags.pop("paused", None)  # the decision ends a hearing/appraisal pause
    c.values.update(
        {
            PetitionCase.opinion: opinion,
            PetitionCase.opinion_at: c.now,
            PetitionCase.closed_at: c.now,
        }
    )
    return {"opinion": opinion, "opinion_zh": OPINION_ZH[opinion], "opinion_text": text}


async def _return_report(c: Ctx) -> dict[str, Any]:
    return {"reason": required(c.data.reason, "reason", "退回重办的理由")}


async def _chase(c: Ctx) -> dict[str, Any]:
    note = required(c.data.note, "note", "催办内容")
    if c.case["assignee_id"]:
        await events.enqueue(
            c.scope,
            "case.chased",
            dedupe_key=f"case.chased:{c.cid}:{c.now.isoformat()}",
            at=c.now,
            recipient_id=c.case["assignee_id"],
            payload={
                "title": f"催办：{c.case['receipt_code']}",
                "body": note,
                "link": links.case_url(c.cid),
            },
        )
    return {"note": note}


async def _pause(c: Ctx) -> dict[str, Any]:
    kind = required(c.data.pause_kind, "pause_kind", "中止原因（听证、鉴定等）")
    if c.flags.get("paused"):
        raise Conflict("already_paused", "计时已中止，请先恢复。", field="action")
    since = c.data.on or local_today(c.rt)
    c.flags["paused"] = {"kind": kind, "since": since.isoformat(), "reason": c.data.reason}
    await deadlines.pause(c.scope, c.cid, DECISION_CLOCKS, now=c.now)
    return {"kind": kind, "since": since.isoformat(), "reason": c.data.reason}


async def _resume(c: Ctx) -> dict[str, Any]:
    paused = c.flags.pop("paused", None)
    if not paused:
        raise Conflict("not_paused", "计时没有中止。", field="action")
    since = date.fromisoformat(paused["since"])
    until = c.data.on or local_today(c.rt)
    if until < since:
        raise InvalidInput("invalid_date", "恢复日期不能早于中止日期。", field="on")
    changed = []
    for row in await deadlines.open_clocks(c.scope, c.cid):
        if row["clock"] not in DECISION_CLOCKS:
            continue
        current = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in row["pauses"] or []]
        d = await deadlines.recompute(
            c.scope, c.tenant, row, now=c.now, pauses=[*current, (since, until)]
        )
        changed.append(
            {"clock": row["clock"], "old_due": row["due"].isoformat(), "new_due": d.due.isoformat()}
        )
    return {
        "kind": paused["kind"],
        "paused": [since.isoformat(), until.isoformat()],
        "deadlines": changed,
    }


async def _recuse(c: Ctx) -> dict[str, Any]:
    user_id = required(c.data.user_id, "user_id", "回避人员")
    reason = required(c.data.reason, "reason", "回避理由")
    if not await c.scope.exists(StaffUser).where(StaffUser.id == user_id):
        raise InvalidInput("unknown_user", "人员不存在。", field="user_id")
    await CaseExclusion.insert(
        CaseExclusion(
            tenant_id=c.tid,
            case_id=c.cid,
            user_id=user_id,
            kind="recused",
            reason=reason,
            created_at=c.now,
        )
    )
    return {"user_id": user_id, "reason": reason}


STEPS: dict[str, Step] = {
    "accept": _accept,
    "not_accept": _not_accept,
    "assign": _assign,
    "approve_assignment": _approve_assignment,
    "reject_assignment": _reject_assignment,
    "start_handling": _start_handling,
    "coordinate": _coordinate,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "reject_extension": _reject_extension,
    "report": _report,
    "approve_report": close_with_opinion,
    "return_report": _return_report,
    "close": close_with_opinion,
    "chase": _chase,
    "pause_clock": _pause,
    "resume_clock": _resume,
    "recuse": _recuse,
}
