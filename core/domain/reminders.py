"""Which reminders are due, as pure functions over plain data (no I/O).

A stage is *reached* once its trigger date has come; reached stages of a still-open
clock stay reached, so the set of reminders a tick derives depends only on the rows and
the Shanghai date — not on when (or whether) earlier ticks ran. That is what lets the
tick catch up after any downtime and lets tests check "none lost, none duplicated".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar

STAGE_ZH = {
    "approaching": "即将到期",
    "due_today": "今日到期",
    "overdue": "催办",
    "escalated": "督办",
}
LEVEL = {"approaching": 1, "due_today": 2, "overdue": 3, "escalated": 4}

HANDLER = "handler"
"""Audience: the responsible user, else the department's handlers/staff, else the clerks."""
OVERSIGHT = "oversight"
"""Audience: supervisors and leaders (督办)."""
DEPARTMENT = "department"
"""Audience: the responsible department's staff, else the clerks."""
LEADERS = "leaders"
"""Audience: leaders and supervisors (extension approval)."""
DESK = "desk"
"""Audience: clerks and supervisors (tenant-wide duties)."""


@dataclass(frozen=True)
class Policy:
    """Per-tenant reminder settings: ``tenant.settings["reminders"]`` → these defaults."""

    approach_days: int = 3
    """Working days before a due date when the first reminder goes out."""
    escalate_after: int = 2
    """Working days overdue after which 督办 goes to supervisors and leaders."""
    transfer_warn_days: int = 1
    """Working days before a transfer's objection deadline when the receiver is reminded."""
    extension_escalate_after: int = 2
    """Working days a pending extension request waits before leaders are reminded again."""
    screening: bool = True
    """Remind the desk of the monthly dispute-screening sheet."""
    screening_day: int = 20
    """Day of month the dispute-screening sheet (矛盾纠纷排查表) is due."""
    screening_lead: int = 3
    """Working days before it when the desk is reminded."""
    digest: bool = True
    digest_hour: int = 8
    """Shanghai hour from which the daily digest is sent (working days only)."""

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> Policy:
        raw = (settings or {}).get("reminders") or {}
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        out = cls(**known)
        for name in ("approach_days", "escalate_after", "transfer_warn_days", "screening_lead"):
            if not 0 <= getattr(out, name) <= 30:
                raise ValueError(f"reminders.{name} out of range")
        if not 1 <= out.screening_day <= 28 or not 0 <= out.digest_hour <= 23:
            raise ValueError("reminders.screening_day / digest_hour out of range")
        return out


@dataclass(frozen=True)
class Stage:
    kind: str
    level: int
    audience: str
    trigger: date


def back_workdays(cal: WorkCalendar, d: date, n: int) -> date:
    """``n`` working days before ``d`` (a rest day counts back from the workday before it)."""
    if n == 0:
        return d
    for _ in range(n):
        d = cal.prev_workday(d)
    return d


def deadline_stages(
    clock: str, due: date, today: date, cal: WorkCalendar, policy: Policy
) -> list[Stage]:
    """Stages of one open statutory clock reached by ``today``. Windows that belong to
    the petitioner (``ClockRule.petitioner``) never get here: the tick skips them."""
    candidates = [
        Stage(f"{clock}:approaching", 1, HANDLER, back_workdays(cal, due, policy.approach_days)),
        Stage(f"{clock}:due_today", 2, HANDLER, due),
        Stage(f"{clock}:overdue", 3, HANDLER, cal.next_workday(due)),
        Stage(f"{clock}:escalated", 4, OVERSIGHT, cal.add_workdays(due, policy.escalate_after)),
    ]
    # 'overdue' triggers on the first working day after the due date: nobody is chased
    # on a holiday for something due the day before it.
    return [s for s in candidates if s.trigger <= today]


def horizon(today: date, cal: WorkCalendar, policy: Policy) -> date:
    """The latest due date that can have reached a stage today."""
    return cal.add_workdays(today, policy.approach_days)


def transfer_stages(
    transfer_id: int, objection_due: date, today: date, cal: WorkCalendar, policy: Policy
) -> list[Stage]:
    """A received transfer not yet accepted or objected to."""
    key = f"transfer#{transfer_id}"
    candidates = [
        Stage(
            f"{key}:reminder",
            2,
            DEPARTMENT,
            back_workdays(cal, objection_due, policy.transfer_warn_days),
        ),
        Stage(f"{key}:overdue", 3, OVERSIGHT, cal.next_workday(objection_due)),
    ]
    return [s for s in candidates if s.trigger <= today]


def extension_stages(
    requested_on: date, today: date, cal: WorkCalendar, policy: Policy
) -> list[Stage]:
    """A pending extension request (延期申请) waiting for the unit head."""
    candidates = [
        Stage("extension_request:waiting", 2, LEADERS, requested_on),
        Stage(
            "extension_request:overdue",
            3,
            LEADERS,
            cal.add_workdays(requested_on, policy.extension_escalate_after),
        ),
    ]
    return [s for s in candidates if s.trigger <= today]


def screening_due(today: date, cal: WorkCalendar, policy: Policy) -> date | None:
    """The 20th this reminder window covers, if ``today`` is inside it (trigger … the 20th)."""
    if not policy.screening:
        return None
    due = today.replace(day=policy.screening_day)
    if today > due:
        return None
    last_workday = due if cal.is_workday(due) else cal.prev_workday(due)
    trigger = back_workdays(cal, last_workday, policy.screening_lead)
    return due if today >= trigger else None


def to_notify(stages: list[Stage]) -> set[str]:
    """Of the stages newly reached together, which are sent: per audience only the latest
    (after downtime, an 'approaching' notice for an overdue clock is noise)."""
    best: dict[str, Stage] = {}
    for s in stages:
        if s.audience not in best or s.level > best[s.audience].level:
            best[s.audience] = s
    return {s.kind for s in best.values()}


def clock_name(pack: RulePack, clock: str) -> str:
    """A clock's name in reminders (「<name>期限」), from the tenant's rule pack."""
    rule = pack.clocks.get(clock)
    return (rule.short_zh or rule.title_zh) if rule else clock


def message_for(
    kind: str, receipt_code: str, due: date, cal: WorkCalendar, *, late: bool, pack: RulePack
) -> tuple[str, str]:
    """Title and body (zh-CN). Carries the receipt code only — never personal data."""
    subject, _, stage = kind.partition(":")
    due_text = cal.describe(due)
    prefix = "【补发】" if late else ""
    if subject.startswith("transfer#"):
        if stage == "reminder":
            return (
                f"{prefix}转送待确认：{receipt_code}",
                f"信访事项 {receipt_code} 已转送本单位，请在 {due_text} 前接收或提出异议。",
            )
        return (
            f"{prefix}【督办】转送逾期未确认：{receipt_code}",
            f"信访事项 {receipt_code} 的转送已超过异议期限 {due_text}，接收单位仍未接收或提出异议。",
        )
    if subject == "extension_request":
        if stage == "waiting":
            return (
                f"{prefix}延期申请待审批：{receipt_code}",
                f"信访事项 {receipt_code} 提出了延期办理申请（{due.isoformat()} 提交），请审批。",
            )
        return (
            f"{prefix}【催办】延期申请仍未审批：{receipt_code}",
            f"信访事项 {receipt_code} 的延期办理申请自 {due.isoformat()} 起仍待审批。",
        )
    name = clock_name(pack, subject)
    label = STAGE_ZH.get(stage, stage)
    if stage == "approaching":
        body = f"信访事项 {receipt_code} 的{name}期限将于 {due_text} 到期，请及时办理。"
    elif stage == "due_today":
        body = f"信访事项 {receipt_code} 的{name}期限今日（{due_text}）到期。"
    elif stage == "overdue":
        body = f"信访事项 {receipt_code} 的{name}期限已于 {due_text} 届满，请立即办理并说明情况。"
    else:
        body = (
            f"信访事项 {receipt_code} 的{name}期限已于 {due_text} 届满且逾期未办，"
            "请督查督办并跟进承办单位。"
        )
    return f"{prefix}【{label}】{name}期限：{receipt_code}", body
