"""The case state machine (办理流程), pure.

Each action names the states it may start from, the state it leads to, and the roles
allowed to take it. Services add the rest (payload checks, clocks, recusal, events);
this module only answers "may this happen, and where does it lead?" — and when the
answer is no, lists the steps that *are* possible so the clerk knows what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    )
}


@dataclass(frozen=True)
class Step:
    action: Action
    from_status: str
    to_status: str


def allowed_actions(status: str, roles: frozenset[str] | None = None) -> list[str]:
    """Actions possible from ``status`` (for these roles, when given), in workflow order."""
    return [
        a.name
        for a in ACTIONS.values()
        if status in a.sources and (roles is None or roles & a.roles)
    ]


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
