"""The case state machine (办理流程), pure.

Each action names the states it may start from, the state it leads to, the roles
allowed to take it and — in ``RELATIONS`` / ``FOUR_EYES`` — how the actor must stand to
*this* case. Services add the rest (payload checks, clocks, recusal, events); this
module only answers "may this happen, and where does it lead?" — and when the answer is
no, lists the steps that *are* possible so the clerk knows what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import Conflict, PermissionDenied

STATUS_ZH: dict[str, str] = {
    "registered": "已登记",
    "not_accepted": "不予受理（已告知其他途径）",
    "accepted": "已受理",
    "transferring": "转送中（待接收）",
    "transferred": "已转送（对方已接收）",
    "returned": "已退回转送机关",
    "assignment_pending": "立案交办待批准",
    "in_progress": "办理中",
    "reported": "已回告（待审查）",
    "closed": "已办结",
    "review": "复查中",
    "rereview": "复核中",
    "final": "已终结（复核完毕）",
    "archived": "已归档",
}
"""The one table of status labels: the API's ``status_zh``, the pages (Jinja filter
``status_zh``) and, with the overrides below, Open311's public ``status_notes``."""

# What the public sees (Open311 ``status_notes``): the same labels, worded for the
# petitioner where the staff label names an internal step.
STATUS_PUBLIC_ZH: dict[str, str] = {
    **STATUS_ZH,
    "not_accepted": "不予受理，已告知其他途径",
    "transferring": "转送中",
    "assignment_pending": "交办审批中",
    "reported": "办理结果审查中",
    "final": "已终结",
}


def status_zh(status: str) -> str:
    """The label of ``status``; an unknown status shows as itself."""
    return STATUS_ZH.get(status, status)


# Terminal for handling; only archiving (and follow-up) may follow.
FINISHED = frozenset({"closed", "final", "not_accepted", "transferred", "returned"})
# States in which a decision clock runs and may be paused (hearing, appraisal).
PAUSABLE = {"in_progress", "reported", "review", "rereview"}
OPEN = {"registered", "accepted", "transferring", "assignment_pending", *PAUSABLE}


@dataclass(frozen=True)
class Action:
    name: str
    title_zh: str
    sources: frozenset[str]
    target: str | None
    """None: the state does not change (a recorded step such as a coordination meeting)."""
    roles: frozenset[str]


def _a(name: str, title: str, sources: set[str], target: str | None, roles: set[str]) -> Action:
    return Action(name, title, frozenset(sources), target, frozenset(roles))


REGISTRARS = {"clerk", "supervisor", "admin"}
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a("accept", "受理", {"registered"}, "accepted", REGISTRARS),
        _a("not_accept", "不予受理并告知途径", {"registered"}, "not_accepted", REGISTRARS),
        _a("transfer", "转送", {"registered", "accepted"}, "transferring", REGISTRARS),
        _a("accept_transfer", "接收转送", {"transferring"}, "accepted", REGISTRARS),
        _a("object_transfer", "对转送提出异议（退回）", {"transferring"}, None, REGISTRARS),
        # 书面告知: reports a decision (受理、不予受理、转送), so none before one is made;
        # late notices stay possible in every later state until the file is archived.
        _a(
            "notify",
            "书面告知信访人",
            set(STATUS_ZH) - {"registered", "archived"},
            None,
            REGISTRARS,
        ),
        _a("assign", "立案交办", {"accepted"}, "assignment_pending", {"clerk", "supervisor"}),
        _a("approve_assignment", "批准交办", {"assignment_pending"}, "in_progress", {"leader"}),
        _a("reject_assignment", "不批准交办", {"assignment_pending"}, "accepted", {"leader"}),
        _a(
            "start_handling",
            "直接办理",
            {"accepted"},
            "in_progress",
            {"clerk", "handler", "supervisor"},
        ),
        _a("coordinate", "协调处理（会议纪要）", {"in_progress"}, None, {"handler", "supervisor"}),
        _a("request_extension", "申请延期", {"in_progress"}, None, {"handler", "supervisor"}),
        _a("approve_extension", "批准延期", {"in_progress"}, None, {"leader"}),
        _a("reject_extension", "不批准延期", {"in_progress"}, None, {"leader"}),
        _a("report", "回告", {"in_progress"}, "reported", {"handler"}),
        _a("approve_report", "审查通过并办结", {"reported"}, "closed", {"supervisor"}),
        _a("return_report", "退回重办", {"reported"}, "in_progress", {"supervisor"}),
        _a(
            "close",
            "出具处理意见并办结",
            {"accepted", "in_progress"},
            "closed",
            {"supervisor", "leader"},
        ),
        _a(
            "chase",
            "催办",
            {"transferring", "assignment_pending", "in_progress", "reported"},
            None,
            {"supervisor"},
        ),
        _a("request_review", "申请复查", {"closed"}, "review", REGISTRARS),
        _a("decide_review", "作出复查意见", {"review"}, "closed", {"supervisor", "leader"}),
        _a("request_rereview", "申请复核", {"closed"}, "rereview", REGISTRARS),
        _a(
            "decide_rereview",
            "作出复核意见（终结）",
            {"rereview"},
            "final",
            {"supervisor", "leader"},
        ),
        _a("follow_up", "回访", {"closed", "final"}, None, {"clerk", "supervisor"}),
        _a(
            "report_upward",
            "摘报反映（向上级报告）",
            {"registered", "accepted", "in_progress"},
            None,
            {"clerk", "supervisor"},
        ),
        _a("pause_clock", "中止计时（听证、鉴定）", PAUSABLE, None, {"handler", "supervisor"}),
        _a("resume_clock", "恢复计时", PAUSABLE, None, {"handler", "supervisor"}),
        _a("recuse", "登记回避", OPEN | set(FINISHED), None, {"supervisor", "leader", "admin"}),
        _a("archive", "立卷归档", set(FINISHED), "archived", REGISTRARS),
        # A cross-tenant transfer brings the sender's contact data as a copy; only the
        # receiver's own staff put it into the receiver's person record.
        _a(
            "adopt_contact",
            "采用转来的联系方式",
            set(STATUS_ZH) - {"archived"},
            None,
            REGISTRARS,
        ),
    )
}


# Event kinds that are not lifecycle actions (those take the action's title).
EVENT_ZH = {
    "registered": "登记",
    "closed_at_first_contact": "当场答复办结",
    "redirected": "不予受理并告知途径",
    "deadline_recomputed": "期限重新计算",
    "transfer_received": "收到转送",
    "transfer_accepted": "对方已接收转送",
    "transfer_objected": "对方对转送提出异议",
    "incident_linked": "合并为同一事件",
    "open311_submitted": "网上提交",
}


def event_zh(kind: str) -> str:
    """The timeline's title of an event: its action's, else its own."""
    action = ACTIONS.get(kind)
    return action.title_zh if action else EVENT_ZH.get(kind, kind)

# ---- Object-level checks: the actor's relation to *this* case ------------------------

DESK = "desk"
"""Any holder of the role in the tenant: the desk, leaders and supervisors act on every
case of their office (登记、受理、转送、交办与审批、督办、复查复核、回访、归档)."""
UNIT = "unit"
"""The handling unit: the assigned handler or a handler of the assignee's department
(of the case's department while nobody is assigned). A supervisor acts by role (督办)."""
ASSIGNEE = "assignee"
"""The assigned handler only (while nobody is assigned: a handler of the case's
department)."""
TAKE_UP = "take_up"
"""A clerk or supervisor names any handler; a handler takes the case up only for
themselves."""

RELATIONS: dict[str, str] = {
    "accept": DESK,
    "not_accept": DESK,
    "transfer": DESK,
    "accept_transfer": DESK,
    "object_transfer": DESK,
    "notify": DESK,
    "assign": DESK,
    "approve_assignment": DESK,
    "reject_assignment": DESK,
    "start_handling": TAKE_UP,
    "coordinate": UNIT,
    "request_extension": UNIT,
    "approve_extension": DESK,
    "reject_extension": DESK,
    "report": ASSIGNEE,
    "approve_report": DESK,
    "return_report": DESK,
    "close": DESK,
    "chase": DESK,
    "request_review": DESK,
    "decide_review": DESK,
    "request_rereview": DESK,
    "decide_rereview": DESK,
    "follow_up": DESK,
    "report_upward": DESK,
    "pause_clock": UNIT,
    "resume_clock": UNIT,
    "recuse": DESK,
    "archive": DESK,
    "adopt_contact": DESK,
}
"""Every action's relation, in one place (docs/lifecycle.md has the same table)."""
assert set(RELATIONS) == set(ACTIONS), set(RELATIONS) ^ set(ACTIONS)

# 四眼原则: whoever made a step does not approve (or refuse) it. The keys name the
# maker of the step under review (``CaseFacts.makers``).
FOUR_EYES: dict[str, tuple[str, ...]] = {
    "approve_assignment": ("assigned_by", "assignment_handler"),
    "reject_assignment": ("assigned_by", "assignment_handler"),
    "approve_extension": ("extension_requested_by",),
    "reject_extension": ("extension_requested_by",),
    "approve_report": ("reported_by",),
    "return_report": ("reported_by",),
    # Closing with one's own opinion the case one handles skips the review of the report.
    "close": ("assignee",),
}
MAKER_ZH = {
    "assigned_by": "该立案交办由您提出",
    "assignment_handler": "该立案交办以您为承办人",
    "extension_requested_by": "该延期由您申请",
    "reported_by": "该回告由您作出",
    "assignee": "您是本事项的承办人",
}


@dataclass(frozen=True)
class Actor:
    user_id: int
    roles: frozenset[str]
    department_id: int | None = None


@dataclass(frozen=True)
class CaseFacts:
    """What the relation checks need to know about the case (gathered by the service)."""

    assignee_id: int | None = None
    unit_department_id: int | None = None
    """The assignee's department now, else the case's department."""
    makers: Mapping[str, int | None] = field(default_factory=dict)
    """Who made the step under review: ``assigned_by``, ``assignment_handler``,
    ``extension_requested_by``, ``reported_by``, ``assignee``."""
    pending_contact: bool = False
    """A cross-tenant transfer brought a contact copy not yet adopted (``adopt_contact``
    is offered only then)."""


def relation_refusal(
    action: str, actor: Actor, case: CaseFacts, *, named_handler: int | None = None
) -> PermissionDenied | None:
    """Why ``actor`` (who holds a role for ``action``) may not take it on this case."""
    act = ACTIONS[action]
    relation = RELATIONS[action]
    in_unit = (
        "handler" in actor.roles
        and case.unit_department_id is not None
        and actor.department_id == case.unit_department_id
    )
    is_assignee = case.assignee_id is not None and case.assignee_id == actor.user_id
    if relation == UNIT:
        ok = "supervisor" in actor.roles or is_assignee or in_unit
    elif relation == ASSIGNEE:
        ok = is_assignee or (case.assignee_id is None and in_unit)
    elif relation == TAKE_UP:
        ok = bool(actor.roles & {"clerk", "supervisor"}) or named_handler in (None, actor.user_id)
    else:
        ok = True
    if not ok:
        if relation == TAKE_UP:
            why = "承办人员只能自己直接办理，不能指定他人；请由接访或督办人员指定。"
        elif relation == ASSIGNEE:
            why = "只有本事项的承办人可以办理。"
        else:
            why = "只有本事项的承办人或其所在部门的承办人员（以及督办人员）可以办理。"
        return PermissionDenied(
            "not_your_case", f"本事项不由您承办，不能“{act.title_zh}”：{why}", relation=relation
        )
    for maker in FOUR_EYES.get(action, ()):
        if case.makers.get(maker) is not None and case.makers.get(maker) == actor.user_id:
            return PermissionDenied(
                "four_eyes",
                f"四眼原则：{MAKER_ZH[maker]}，“{act.title_zh}”须由另一位有权限的人员办理。",
                maker=maker,
            )
    return None


def check_relation(
    action: str, actor: Actor, case: CaseFacts, *, named_handler: int | None = None
) -> None:
    refusal = relation_refusal(action, actor, case, named_handler=named_handler)
    if refusal is not None:
        raise refusal


@dataclass(frozen=True)
class Step:
    action: Action
    from_status: str
    to_status: str


def allowed_actions(
    status: str,
    roles: frozenset[str] | None = None,
    *,
    actor: Actor | None = None,
    case: CaseFacts | None = None,
) -> list[str]:
    """Actions possible from ``status`` (for these roles, when given; for this actor on
    this case, when both are given), in workflow order."""
    return [
        a.name
        for a in ACTIONS.values()
        if status in a.sources
        and (roles is None or roles & a.roles)
        and (actor is None or case is None or relation_refusal(a.name, actor, case) is None)
        and (case is None or _applies(a.name, case))
    ]


def _applies(action: str, case: CaseFacts) -> bool:
    """Whether the case has what the step works on (beyond its status)."""
    if action == "adopt_contact":
        return case.pending_contact
    return True


def plan(status: str, action: str, roles: frozenset[str]) -> Step:
    """Check that ``action`` may happen now by someone holding ``roles``."""
    act = ACTIONS.get(action)
    if act is None:
        raise Conflict(
            "unknown_action",
            f"未知的办理步骤：{action}。",
            field="action",
            allowed=allowed_actions(status),
        )
    if status not in act.sources:
        allowed = allowed_actions(status)
        names = "、".join(ACTIONS[a].title_zh for a in allowed) or "无（只读）"
        raise Conflict(
            "illegal_transition",
            f"事项当前状态为“{STATUS_ZH.get(status, status)}”，不能“{act.title_zh}”。"
            f"当前可进行：{names}。",
            field="action",
            status=status,
            allowed=allowed,
        )
    if not roles & act.roles:
        raise PermissionDenied(
            "role_required",
            f"“{act.title_zh}”需要由以下角色办理：{'、'.join(sorted(act.roles))}。",
            required=sorted(act.roles),
        )
    return Step(act, status, act.target or status)
