"""The reception rota in the browser: ``/rota`` for those who schedule (admins and
supervisors, the API's guards), ``/rota/mine`` for every staff member with reception days.

Plain HTML forms with the CSRF token, handled by the same services as the JSON API
(``/api/v1/rota/…``): a refusal shows the form again with what was typed and the
service's message at its field (422, 409 for a clash, nothing saved); a success answers
303 back to the page, which says what was done. Another tenant's template or slot is a
404, as in the API.

``/rota`` is where older rota notices link to: for someone who does not schedule it
shows their own days, as ``/rota/mine`` does (``links.MY_ROTA``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import get, post
from litestar.params import FromQuery, Parameter
from litestar.response import Redirect, Template

from core import links
from core.domain.rota import HALF_ZH
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.principal import ROLE_NAMES_ZH
from core.schemas import Id
from core.services import rota, tenants, users
from core.services.rota.answers import RotaSlotOut, RotaTemplateOut
from core.services.rota.schemas import LeaveIn, OverrideIn, PublishIn, SwapIn, TemplateIn
from core.services.scope import Scope
from core.validation import convert
from core.web.adminform import Refusal, form_body, refusal
from core.web.adminpage import NO_REFUSAL, Req, posted, typed_values
from core.web.auth import CallerScope, requires, requires_admin, requires_scheduler, requires_staff
from core.web.desk import field_id

Notice = Annotated[str | None, Parameter(max_length=40)]
Count = Annotated[int | None, Parameter(ge=0, le=100000)]
View = Annotated[str, Parameter(pattern="^(week|month)$")]

ROTA_STATUS_ZH = {"draft": "草稿", "published": "已发布", "cancelled": "已取消"}
CHANGE_STATUS_ZH = {
    "requested": "待审批",
    "approved": "已批准",
    "rejected": "已驳回",
    "applied": "已执行",
}
CHANGE_KIND_ZH = {"swap": "调换", "override": "调整", "leave": "请假顶班", "calendar": "日历调整"}
PATTERN_ZH = {"weekly": "每周固定日", "every_workday": "每个工作日"}
POLICY_ZH = {
    "skip": "节假日不安排",
    "previous_workday": "提前到前一个工作日",
    "next_workday": "顺延到下一个工作日",
    "keep": "照常安排",
}
SKIP_ZH = {
    "holiday_skipped": "节假日不安排",
    "merged": "与已有接待日合并",
    "outside_range": "顺延到本次生成范围之外",
}
WEEKDAYS_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
TEMPLATE_LABELS = {
    "key": "排班标识",
    "title_zh": "排班名称",
    "role": "排班类型",
    "pattern": "排班方式",
    "weekdays": "接待日（星期）",
    "place": "接待地点",
    "topics": "接访主题",
    "leaders": "轮值领导",
    "standby": "备班人员",
    "holiday_policy": "遇节假日",
    "makeup_workdays": "调休上班日也安排接待",
    "leaders_per_slot": "每个时段接待领导人数",
    "same_leader_whole_day": "同一天上下午由同一位领导接待",
    "horizon_weeks": "提前生成周数",
    **{
        f"slots[{i}].{k}": f"第 {i + 1} 个时段{t}"
        for i in (0, 1)
        for k, t in (("half", "（上午/下午）"), ("start", "开始时间"), ("end", "结束时间"))
    },
}
TEMPLATE_GROUPS = {"slots": "slots[0].half", "state.year": "key"}
TEMPLATE_LISTS = ("weekdays", "leaders", "standby")
TEMPLATE_CHECKS = ("makeup_workdays", "same_leader_whole_day")
LEAVE_LABELS = {
    "user_id": "请假人员",
    "first_day": "开始日期",
    "last_day": "结束日期",
    "reason": "事由",
}
SWAP_LABELS = {"to_leader_id": "调换给", "reason": "调换理由"}
PUBLISH_LABELS = {"until": "发布截至日期"}
OVERRIDE_LABELS = {"leader_id": "改由", "reason": "调整理由"}
DONE = {
    "template_created": "已创建排班模板。下一步：预览并生成排班。",
    "template_saved": "已保存排班模板；此后生成的时段按新设置安排，已生成的时段不变。",
    "generated": "已生成排班草稿。",
    "published": "已发布。",
    "approved": "已批准调换：该时段改由新领导接待，双方的日历订阅随之更新，通知已排队发送。",
    "rejected": "已驳回调换申请。",
    "leave_added": "已登记请假。",
    "swap_requested": "已提交调换申请，等待排班管理员审批。",
    "overridden": "已调整该时段，相关领导的通知已排队发送。",
}
_TOPIC_SPLIT = re.compile(r"[\n\r,，、;；]+")


# --- what every rota page shares ---------------------------------------------------------


async def _chrome(sc: Scope) -> dict[str, Any]:
    p = sc.actor
    return {
        "tenant": await tenants.get_tenant(sc),
        "user": p,
        "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(p.roles)],
        "fid": field_id,
        "half_zh": HALF_ZH,
        "rota_status_zh": ROTA_STATUS_ZH,
        "change_status_zh": CHANGE_STATUS_ZH,
        "change_kind_zh": CHANGE_KIND_ZH,
        "scheduler": p.has_any("admin", "supervisor"),
        "admin": p.has_any("admin"),
        "today": sc.rt.clock.today(),
    }


def _page(
    name: str,
    frame: dict[str, Any],
    *,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    **context: Any,
) -> Template:
    focus = next(iter(refused.errors), "summary" if refused.summary else None)
    return Template(
        f"rota/{name}.html",
        context={
            **frame,
            "values": {},
            "errors": refused.errors,
            "summary": refused.summary,
            "focus": focus,
            "notice": None,
            **context,
        },
        status_code=status,
    )


async def _people(sc: Scope) -> dict[int, str]:
    """Everyone's name by id (the slots and changes name their leaders)."""
    return {u.id: u.display_name for u in await users.list_users(sc)}


async def _leader_options(sc: Scope) -> list[tuple[str, str]]:
    return [
        (str(u.id), u.display_name + (f"（{u.title}）" if u.title else ""))
        for u in await users.list_users(sc)
        if u.active and "leader" in u.roles
    ]


def _period(view: str, start: date | None, today: date) -> tuple[date, date, date, date]:
    """First and last day shown, and where the previous and next links go: the week
    (Monday–Sunday) or month of ``start``, else of today (on a weekend, the coming week)."""
    day = start or today
    if view == "month":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        prev = (first - timedelta(days=1)).replace(day=1)
        return first, nxt - timedelta(days=1), prev, nxt
    if start is None and day.weekday() >= 5:
        day += timedelta(days=7)  # on a weekend "this week" is the coming one
    first = day - timedelta(days=day.weekday())
    return first, first + timedelta(days=6), first - timedelta(days=7), first + timedelta(days=7)


def _by_day(slots: list[RotaSlotOut]) -> list[tuple[date, list[RotaSlotOut]]]:
    out: dict[date, list[RotaSlotOut]] = {}
    for s in slots:
        out.setdefault(s.day, []).append(s)
    return list(out.items())


# --- /rota: the scheduler's page ---------------------------------------------------------


async def _scheduler_page(
    sc: Scope,
    *,
    view: str = "week",
    start: date | None = None,
    notice: str | None = None,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    leave_values: dict[str, Any] | None = None,
    publish_values: dict[str, Any] | None = None,
    form: str = "",
) -> Template:
    frame = await _chrome(sc)
    today = frame["today"]
    first, last, prev, nxt = _period(view, start, today)
    slots = await rota.list_slots(sc, start=first, end=last)
    drafts = await rota.list_slots(sc, start=today, status="draft")
    pending = await rota.list_changes(sc, status="requested")
    pending_slots = {c.slot_id: await rota.get_slot(sc, c.slot_id) for c in pending}
    leave = [x for x in await rota.list_leave(sc) if x.last_day >= today]
    return _page(
        "index",
        frame,
        refused=refused,
        status=status,
        form=form,
        notice=notice,
        templates=await rota.list_templates(sc),
        view=view,
        first=first,
        last=last,
        prev=prev,
        next=nxt,
        days=_by_day(slots),
        slot_count=len(slots),
        drafts=len(drafts),
        draft_until=drafts[-1].day if drafts else None,
        pending=pending,
        pending_slots=pending_slots,
        leave=leave,
        people=await _people(sc),
        leader_options=await _leader_options(sc),
        weekdays_zh=WEEKDAYS_ZH,
        pattern_zh=PATTERN_ZH,
        values={**(leave_values or {}), **(publish_values or {})},
    )


def _done(done: str | None, n: int | None, leaders: int | None) -> str | None:
    if done == "generated":
        return f"已生成 {n or 0} 个排班草稿时段；核对后请「发布」。"
    if done == "published":
        told = (
            f"，已为 {leaders} 位值班领导排队发送排班通知（由后台任务发送到其消息）"
            if leaders
            else ""
        )
        return f"已发布 {n or 0} 个时段{told}。发布后的时段只能通过调换或调整变更。"
    return DONE.get(done or "")


@get(links.ROTA, include_in_schema=False, guards=[requires_staff])
async def rota_page(
    sc: CallerScope,
    view: View = "week",
    start: FromQuery[date | None] = None,
    done: Notice = None,
    n: Count = None,
    leaders: Count = None,
) -> Template:
    """Schedulers: templates, generation, the slots by week or month, publishing, swaps
    to approve, leave. Anyone else: their own days (as ``/rota/mine``)."""
    if not sc.actor.has_any("admin", "supervisor"):
        return await _mine_page(sc, notice=_done(done, n, leaders))
    return await _scheduler_page(sc, view=view, start=start, notice=_done(done, n, leaders))


# --- templates ---------------------------------------------------------------------------


def _template_values(t: RotaTemplateOut | None) -> dict[str, Any]:
    if t is None:
        return {
            "role": "leader_day",
            "pattern": "weekly",
            "weekdays": ["0"],
            "slots[0].half": "am",
            "slots[0].start": "08:30",
            "slots[0].end": "11:30",
            "slots[1].half": "pm",
            "slots[1].start": "14:30",
            "slots[1].end": "17:00",
            "holiday_policy": "next_workday",
            "leaders_per_slot": "1",
            "same_leader_whole_day": "true",
            "horizon_weeks": "8",
            "leaders": [],
            "standby": [],
        }
    values: dict[str, Any] = {
        "key": t.key,
        "title_zh": t.title_zh,
        "role": t.role,
        "pattern": t.pattern,
        "weekdays": [str(d) for d in t.weekdays],
        "place": t.place,
        "topics": "\n".join(t.topics),
        "leaders": [str(i) for i in t.leaders],
        "standby": [str(i) for i in t.standby],
        "holiday_policy": t.holiday_policy,
        "makeup_workdays": "true" if t.makeup_workdays else "",
        "leaders_per_slot": str(t.leaders_per_slot),
        "same_leader_whole_day": "true" if t.same_leader_whole_day else "",
        "horizon_weeks": str(t.horizon_weeks),
    }
    for i, s in enumerate(t.slots):
        values.update(
            {f"slots[{i}].half": s.half, f"slots[{i}].start": s.start, f"slots[{i}].end": s.end}
        )
    return values


def _chosen_first(options: list[tuple[str, str]], chosen: list[str]) -> list[tuple[str, str]]:
    """The options with the chosen ones first, in their order (a template's leaders take
    turns in list order, which saving the form again must keep)."""
    rank = {value: i for i, value in enumerate(chosen)}
    return sorted(options, key=lambda o: rank.get(o[0], len(rank)))


def _template_body(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    body = form_body(pairs, lists=TEMPLATE_LISTS, checks=TEMPLATE_CHECKS)
    topics = body.get("topics")
    if isinstance(topics, str):
        body["topics"] = [t.strip() for t in _TOPIC_SPLIT.split(topics) if t.strip()]
    return body


def _posted_values(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    values = typed_values(pairs, lists=TEMPLATE_LISTS)
    for name in TEMPLATE_CHECKS:
        values[name] = "true" if name in values else ""
    return values


async def _template_form(
    sc: Scope,
    template: RotaTemplateOut | None,
    values: dict[str, Any],
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
) -> Template:
    chosen = {name: [str(v) for v in values.get(name) or []] for name in ("leaders", "standby")}
    return _page(
        "template",
        await _chrome(sc),
        refused=refused,
        status=status,
        template=template,
        values=values,
        # The rotation goes in list order: the chosen first, as they stand.
        people_options={
            name: _chosen_first(await _leader_options(sc), ids) for name, ids in chosen.items()
        },
        weekdays_zh=WEEKDAYS_ZH,
        pattern_options=list(PATTERN_ZH.items()),
        policy_options=list(POLICY_ZH.items()),
        half_options=[("am", "上午"), ("pm", "下午")],
    )


@get("/rota/templates/new", include_in_schema=False, guards=[requires_admin])
async def new_template_page(sc: CallerScope) -> Template:
    return await _template_form(sc, None, _template_values(None))


@post("/rota/templates", include_in_schema=False, guards=[requires_admin], status_code=200)
async def create_template(request: Req, sc: CallerScope) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(_template_body(pairs), TemplateIn, strict=False)
        await rota.create_template(sc, data)
    except (InvalidInput, Conflict) as exc:
        refused = refusal(exc, TEMPLATE_LABELS, TEMPLATE_GROUPS)
        return await _template_form(sc, None, _posted_values(pairs), refused, exc.status)
    return Redirect(f"{links.ROTA}?done=template_created", status_code=303)


@get("/rota/templates/{template_id:int}", include_in_schema=False, guards=[requires_admin])
async def template_page(sc: CallerScope, template_id: Id) -> Template:
    template = await rota.get_template(sc, template_id)  # 404: another tenant's, or none
    return await _template_form(sc, template, _template_values(template))


@post(
    "/rota/templates/{template_id:int}",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def update_template(request: Req, sc: CallerScope, template_id: Id) -> Template | Redirect:
    template = await rota.get_template(sc, template_id)
    pairs = await posted(request)
    try:
        data = convert(_template_body(pairs), TemplateIn, strict=False)
        await rota.update_template(sc, template_id, data)
    except (InvalidInput, Conflict) as exc:
        refused = refusal(exc, TEMPLATE_LABELS, TEMPLATE_GROUPS)
        return await _template_form(sc, template, _posted_values(pairs), refused, exc.status)
    return Redirect(f"{links.ROTA}?done=template_saved", status_code=303)


# --- generate, publish -------------------------------------------------------------------


@get("/rota/generate", include_in_schema=False, guards=[requires_scheduler])
async def generate_page(sc: CallerScope) -> Template:
    """What generation would create now (nothing stored), then the button that does."""
    frame = await _chrome(sc)
    preview = await rota.preview_generation(sc)
    templates = {t.id: t for t in await rota.list_templates(sc)}
    return _page(
        "generate",
        frame,
        preview=preview,
        templates=templates,
        people=await _people(sc),
        skip_zh=SKIP_ZH,
        leaders_count=len({s.leader_id for s in preview.slots}),
    )


@post("/rota/generate", include_in_schema=False, guards=[requires_scheduler], status_code=303)
async def generate(sc: CallerScope) -> Redirect:
    result = await rota.generate(sc)
    return Redirect(f"{links.ROTA}?done=generated&n={result.created}", status_code=303)


@post("/rota/publish", include_in_schema=False, guards=[requires_scheduler], status_code=200)
async def publish(request: Req, sc: CallerScope) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs), PublishIn, strict=False)
        today = sc.rt.clock.today()
        drafts = await rota.list_slots(sc, start=today, end=data.until, status="draft")
        leaders = len({s.leader_id for s in drafts if s.leader_id is not None})
        result = await rota.publish(sc, data)
    except InvalidInput as exc:
        return await _scheduler_page(
            sc,
            refused=refusal(exc, PUBLISH_LABELS),
            status=exc.status,
            publish_values=typed_values(pairs),
            form="publish",
        )
    return Redirect(
        f"{links.ROTA}?done=published&n={result.published}&leaders={leaders}", status_code=303
    )


# --- swaps to decide, leave --------------------------------------------------------------


async def _decide(sc: Scope, change_id: int, approve: bool) -> Template | Redirect:
    try:
        await rota.decide_swap(sc, change_id, approve=approve)
    except Conflict as exc:
        return await _scheduler_page(
            sc, refused=refusal(exc, {}), status=exc.status, form="changes"
        )
    done = "approved" if approve else "rejected"
    return Redirect(f"{links.ROTA}?done={done}", status_code=303)


@post(
    "/rota/changes/{change_id:int}/approve",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def approve_change(sc: CallerScope, change_id: Id) -> Template | Redirect:
    return await _decide(sc, change_id, True)


@post(
    "/rota/changes/{change_id:int}/reject",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def reject_change(sc: CallerScope, change_id: Id) -> Template | Redirect:
    return await _decide(sc, change_id, False)


@post("/rota/leave", include_in_schema=False, guards=[requires_staff], status_code=200)
async def add_leave(request: Req, sc: CallerScope) -> Template | Redirect:
    """Leave: an admin or supervisor for anyone (on /rota), anyone for themselves."""
    pairs = await posted(request)
    # From /rota/mine (``_back``; names starting with ``_`` are not data) or /rota.
    mine = ("_back", "mine") in pairs or not sc.actor.has_any("admin", "supervisor")
    try:
        data = convert(form_body(pairs), LeaveIn, strict=False)
        result = await rota.add_leave(sc, data)
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        refused = refusal(exc, LEAVE_LABELS)
        values = typed_values(pairs)
        if mine:
            return await _mine_page(sc, refused=refused, status=exc.status, leave_values=values)
        return await _scheduler_page(
            sc, refused=refused, status=exc.status, leave_values=values, form="leave"
        )
    target = links.MY_ROTA if mine else links.ROTA
    extra = f"&n={len(result.conflicts)}" if result.conflicts else ""
    return Redirect(f"{target}?done=leave_added{extra}", status_code=303)


# --- one slot ----------------------------------------------------------------------------


async def _slot_page(
    sc: Scope,
    slot_id: int,
    *,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    values: dict[str, Any] | None = None,
    notice: str | None = None,
) -> Template:
    slot = await rota.get_slot(sc, slot_id)  # 404: another tenant's, or none
    changes = [c for c in await rota.list_changes(sc) if c.slot_id == slot_id]
    return _page(
        "slot",
        await _chrome(sc),
        refused=refused,
        status=status,
        slot=slot,
        template=await rota.get_template(sc, slot.template_id),
        changes=changes,
        people=await _people(sc),
        leader_options=await _leader_options(sc),
        values=values or {},
        notice=notice,
    )


@get("/rota/slots/{slot_id:int}", include_in_schema=False, guards=[requires_scheduler])
async def slot_page(sc: CallerScope, slot_id: Id, done: Notice = None) -> Template:
    return await _slot_page(sc, slot_id, notice=DONE.get(done or ""))


@post(
    "/rota/slots/{slot_id:int}/override",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def override_slot(request: Req, sc: CallerScope, slot_id: Id) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs, checks=("cancel",)), OverrideIn, strict=False)
        await rota.override(sc, slot_id, data)
    except (InvalidInput, Conflict) as exc:
        return await _slot_page(
            sc,
            slot_id,
            refused=refusal(exc, OVERRIDE_LABELS, {"cancel": "leader_id"}),
            status=exc.status,
            values=typed_values(pairs),
        )
    return Redirect(f"/rota/slots/{slot_id}?done=overridden", status_code=303)


# --- /rota/mine: a leader's own days -----------------------------------------------------


async def _mine_page(
    sc: Scope,
    *,
    notice: str | None = None,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    leave_values: dict[str, Any] | None = None,
    feed_url: str | None = None,
) -> Template:
    frame = await _chrome(sc)
    me = sc.actor.user_id
    slots = await rota.list_slots(sc, start=frame["today"], leader_id=me)
    changes = [c for c in await rota.list_changes(sc) if me in (c.from_leader_id, c.requested_by)]
    pending = {c.slot_id for c in changes if c.status == "requested"}
    leader = sc.actor.has_any("leader")
    return _page(
        "mine",
        frame,
        refused=refused,
        status=status,
        notice=notice,
        slots=slots,
        pending=pending,
        requests=[c for c in changes if c.kind == "swap"][-10:],
        slot_of={s.id: s for s in slots},
        people=await _people(sc),
        leader=leader,
        feeds=await rota.feed_tokens(sc) if leader else [],
        feed_url=feed_url,
        leave=[
            x for x in await rota.list_leave(sc) if x.user_id == me and x.last_day >= frame["today"]
        ],
        values=leave_values or {},
    )


@get(links.MY_ROTA, include_in_schema=False, guards=[requires_staff])
async def mine_page(sc: CallerScope, done: Notice = None, n: Count = None) -> Template:
    """My reception days from today, my swap requests, my calendar link, my leave."""
    notice = DONE.get(done or "")
    if done == "leave_added" and n:
        notice = f"已登记请假；其中 {n} 个已发布的时段需要申请调换或由排班管理员调整。"
    return await _mine_page(sc, notice=notice)


@post(
    f"{links.MY_ROTA}/feed", include_in_schema=False, guards=[requires("leader")], status_code=200
)
async def reset_feed(sc: CallerScope) -> Template:
    """A new private calendar link; every earlier one stops answering. Shown once, here
    (only its hash is kept), so the answer is the page itself, not a redirect."""
    revoked = await rota.revoke_feed_tokens(sc)
    made = await rota.create_feed_token(sc)
    notice = (
        "已生成新的日历订阅链接，原有链接已失效。" if revoked.revoked else "已生成日历订阅链接。"
    )
    return await _mine_page(sc, notice=notice, feed_url=made.url)


async def _swap_form(
    sc: Scope,
    slot: RotaSlotOut,
    values: dict[str, Any],
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
) -> Template:
    me = str(sc.actor.user_id)
    return _page(
        "swap",
        await _chrome(sc),
        refused=refused,
        status=status,
        slot=slot,
        values=values,
        leader_options=[o for o in await _leader_options(sc) if o[0] != me],
    )


async def _my_slot(sc: Scope, slot_id: int) -> RotaSlotOut:
    slot = await rota.get_slot(sc, slot_id)  # 404: another tenant's, or none
    if slot.leader_id != sc.actor.user_id:
        raise NotFound("slot_not_found", "排班时段不存在。")
    return slot


@get(
    f"{links.MY_ROTA}/slots/{{slot_id:int}}/swap",
    include_in_schema=False,
    guards=[requires("leader")],
)
async def swap_page(sc: CallerScope, slot_id: Id) -> Template:
    return await _swap_form(sc, await _my_slot(sc, slot_id), {})


@post(
    f"{links.MY_ROTA}/slots/{{slot_id:int}}/swap",
    include_in_schema=False,
    guards=[requires("leader")],
    status_code=200,
)
async def request_swap(request: Req, sc: CallerScope, slot_id: Id) -> Template | Redirect:
    slot = await _my_slot(sc, slot_id)
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs), SwapIn, strict=False)
        await rota.request_swap(sc, slot_id, data)
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        return await _swap_form(
            sc, slot, typed_values(pairs), refusal(exc, SWAP_LABELS), exc.status
        )
    return Redirect(f"{links.MY_ROTA}?done=swap_requested", status_code=303)


ROTA_PAGES = [
    rota_page,
    new_template_page,
    create_template,
    template_page,
    update_template,
    generate_page,
    generate,
    publish,
    approve_change,
    reject_change,
    add_leave,
    slot_page,
    override_slot,
    mine_page,
    reset_feed,
    swap_page,
    request_swap,
]
"""Every rota page handler (registered through ``core.web.pages.PAGES``)."""
