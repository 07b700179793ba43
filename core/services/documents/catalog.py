"""Which documents a case has now, and the facts each one states.

A built-in document is available once the step it records has happened (its event is
in the case's history): the receipt from registration, the acceptance notice from
受理, … the re-review opinion from 复核. A plugin's document (``xinfang_documents``) is
available when the case has a value for every ``{placeholder}`` of its template. Every
date is written 「2026年12月8日」 from the stored events and clocks (Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.domain.deadlines import compute_deadline
from core.plugin_api.types import TenantInfo
from core.schemas import OPINION_ZH, REDIRECT_CHANNEL_ZH
from core.services import deadlines
from core.services.cases import CaseDetail, CaseEventOut
from core.services.deadlines import ClockOut
from core.services.scope import Scope
from core.timefmt import shanghai, zh_date


@dataclass(frozen=True)
class Kind:
    code: str
    title_zh: str
    events: tuple[str, ...]
    """The step whose latest event the document records (empty: from registration)."""
    notice: bool = False
    """Given to the petitioner as the written notice (告知) that meets the 15-day clock."""
    to_unit: bool = False
    """Addressed to a unit (转送单, 交办单), not to the petitioner."""


OPINIONS = ("close", "approve_report", "closed_at_first_contact")
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("receipt", "信访事项登记回执", ()),
        Kind("acceptance_notice", "信访事项受理告知书", ("accept", "accept_transfer"), notice=True),
        Kind(
            "non_acceptance_notice",
            "信访事项不予受理告知书",
            ("not_accept", "redirected"),
            notice=True,
        ),
        Kind("transfer_slip", "信访事项转送单", ("transfer",), to_unit=True),
        Kind("assignment", "信访事项交办单", ("approve_assignment",), to_unit=True),
        Kind("extension_notice", "信访事项延期办理告知书", ("approve_extension",)),
        Kind("opinion", "信访事项处理意见书", OPINIONS),
        Kind("review_opinion", "信访事项复查意见书", ("decide_review",)),
        Kind("rereview_opinion", "信访事项复核意见书", ("decide_rereview",)),
    )
}

VARIABLES_COMMON = (
    "tenant_name",
    "receipt_code",
    "visitor_name",
    "received_date",
    "channel_zh",
    "cause",
    "demand",
    "locality",
    "address",
    "today",
)


@dataclass
class Facts:
    """What is known of the case for its documents, gathered once."""

    case: CaseDetail
    tenant: TenantInfo
    clocks: list[ClockOut]
    department_zh: dict[int, str]
    user_department: dict[int, int | None]
    today: date
    lookup_url: str

    def latest(self, kinds: tuple[str, ...]) -> CaseEventOut | None:
        for e in reversed(self.case.events):
            if e.kind in kinds:
                return e
        return None

    def clock_due(self, name: str) -> date | None:
        """The due day of the latest clock ``name`` (met, running or superseded)."""
        found = [c for c in self.clocks if c.clock == name]
        return found[-1].due if found else None

    def common(self) -> dict[str, Any]:
        c = self.case
        return {
            "tenant_name": self.tenant.name,
            "receipt_code": c.receipt_code,
            "visitor_name": c.visitor.name if c.visitor else "",
            "received_date": zh_date(c.received_at),
            "channel_zh": c.channel_zh,
            "cause": c.cause,
            "demand": c.demand,
            "locality": c.locality,
            "address": c.locality,
            "today": zh_date(self.today),
        }


def _day(value: datetime | str | None) -> date | None:
    if value is None or value == "":
        return None
    return shanghai(value).date() if isinstance(value, datetime) else date.fromisoformat(value)


def _due(data: dict[str, Any]) -> str:
    clock = data.get("deadline") or {}
    return zh_date(clock.get("due")) if clock.get("due") else ""


async def review_due(scope: Scope, f: Facts, clock: str, decided: date) -> str:
    """The last day to ask for review / re-review (30 days from the opinion), counted by
    the tenant's rule pack and the work calendar like every other clock."""
    pack = deadlines.pack_for(scope, f.tenant)
    due = compute_deadline(pack, clock, decided, await deadlines.work_calendar()).due
    return zh_date(due)


def _receipt(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    notify = f.clock_due("notify") or f.clock_due("accept")
    return {"lookup_url": f.lookup_url, "notify_due": zh_date(notify) if notify else "—"}


def _accepted(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    handle = _due(e.data) or zh_date(f.clock_due("handle"))
    return {"decided_date": zh_date(e.at), "handle_due": handle}


def _not_accepted(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    channel = str(e.data.get("channel") or "")
    return {
        "decided_date": zh_date(e.at),
        "redirect_channel_zh": REDIRECT_CHANNEL_ZH.get(channel, channel),
        "reason": str(e.data.get("reason") or ""),
        # The court's 诉访分离 says how to go about it; a plain 不予受理 has no more to say.
        "redirect_notice": str(e.data.get("notice") or "") if e.kind == "redirected" else "",
    }


def _transferred(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    d = e.data
    to_dept = d.get("to_department_id")
    external = bool(d.get("to_tenant"))
    to = str(d.get("to_tenant_name") or "") if external else f.department_zh.get(to_dept or 0, "")
    return {
        "decided_date": zh_date(e.at),
        "transfer_to": to or "有关单位",
        "transfer_external": external,
        "transfer_note": str(d.get("note") or ""),
    }


def _assigned(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    assign = f.latest(("assign",))
    plan = str(assign.data.get("plan") or "") if assign else ""
    # The unit named at 交办, else the handler's own, else the case's.
    handler = e.data.get("handler_id") or (assign.data.get("handler_id") if assign else None)
    dept_id = (
        (assign.data.get("department_id") if assign else None)
        or f.user_department.get(handler or 0)
        or f.case.department_id
    )
    return {
        "decided_date": zh_date(e.at),
        "assignee_department": f.department_zh.get(dept_id or 0, "承办部门"),
        "plan": plan,
        "handle_due": zh_date(f.clock_due("handle")),
    }


def _extended(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    d = e.data
    return {
        "decided_date": zh_date(e.at),
        "extension_reason": str(d.get("reason") or ""),
        "extension_days": int(d.get("days") or 0),
        "old_due": zh_date(d.get("old_due")),
        "new_due": _due(d),
    }


def _opinion(f: Facts, e: CaseEventOut | None) -> dict[str, Any]:
    assert e is not None
    d = e.data
    code = str(d.get("opinion") or "")
    text = str(d.get("opinion_text") or d.get("answer") or "")
    request = f.latest(("request_review",) if e.kind == "decide_review" else ("request_rereview",))
    return {
        "decided_date": zh_date(e.at),
        "opinion": code,
        "opinion_zh": OPINION_ZH.get(code, code),
        "opinion_text": text,
        "result": text,
        "request_date": zh_date(request.data.get("requested_on")) if request else "",
    }


FACTS: dict[str, Callable[[Facts, CaseEventOut | None], dict[str, Any]]] = {
    "receipt": _receipt,
    "acceptance_notice": _accepted,
    "non_acceptance_notice": _not_accepted,
    "transfer_slip": _transferred,
    "assignment": _assigned,
    "extension_notice": _extended,
    "opinion": _opinion,
    "review_opinion": _opinion,
    "rereview_opinion": _opinion,
}
REVIEW_CLOCK = {"opinion": "review_request", "review_opinion": "rereview_request"}


async def values_for(scope: Scope, f: Facts, kind: Kind) -> dict[str, Any] | None:
    """The values the document ``kind`` states, or None when the case has not reached
    the step it records."""
    event = f.latest(kind.events) if kind.events else None
    if kind.events and event is None:
        return None
    values = {**f.common(), **FACTS[kind.code](f, event)}
    if kind.code in REVIEW_CLOCK:
        assert event is not None
        values["review_request_due"] = await review_due(
            scope, f, REVIEW_CLOCK[kind.code], shanghai(event.at).date()
        )
    return values


def plugin_values(f: Facts) -> dict[str, Any]:
    """What a plugin's ``{placeholder}`` may name: the common facts, the redirect
    (诉访分离) or refusal, and the latest opinion as ``result``."""
    values = f.common()
    refused = f.latest(("redirected", "not_accept"))
    if refused is not None:
        values.update(
            channel=str(refused.data.get("channel") or ""),
            notice=str(refused.data.get("notice") or ""),
            reason=str(refused.data.get("reason") or ""),
        )
    decided = f.latest((*OPINIONS, "decide_review", "decide_rereview"))
    if decided is not None:
        text = str(decided.data.get("opinion_text") or decided.data.get("answer") or "")
        values["result"] = text
        values["opinion_text"] = text
    return values


def date_of(f: Facts, kind: Kind) -> date:
    """The document's date: the day of the step it records (the receipt: registration)."""
    if kind.code == "receipt":
        return shanghai(f.case.received_at).date()
    event = f.latest(kind.events)
    return shanghai(event.at).date() if event else f.today


OPINION_VARIABLES = (
    "decided_date",
    "opinion",
    "opinion_zh",
    "opinion_text",
    "result",
    "request_date",
    "review_request_due",
)
VARIABLES: dict[str, tuple[str, ...]] = {
    "receipt": ("lookup_url", "notify_due"),
    "acceptance_notice": ("decided_date", "handle_due"),
    "non_acceptance_notice": ("decided_date", "redirect_channel_zh", "reason", "redirect_notice"),
    "transfer_slip": ("decided_date", "transfer_to", "transfer_external", "transfer_note"),
    "assignment": ("decided_date", "assignee_department", "plan", "handle_due"),
    "extension_notice": (
        "decided_date",
        "extension_reason",
        "extension_days",
        "old_due",
        "new_due",
    ),
    "opinion": OPINION_VARIABLES,
    "review_opinion": OPINION_VARIABLES,
    "rereview_opinion": OPINION_VARIABLES[:-1],
}
"""Beyond ``VARIABLES_COMMON``: what each built-in document's template may name."""
PLUGIN_VARIABLES = ("channel", "notice", "reason", "result", "opinion_text")
"""Beyond ``VARIABLES_COMMON``: what a plugin document's template may name."""


def variables_of(kind: str) -> list[str]:
    return sorted({*VARIABLES_COMMON, *VARIABLES.get(kind, PLUGIN_VARIABLES)})


def sample_values(kind: str) -> dict[str, Any]:
    """Stand-in values of the variables ``kind`` has, to try a template with before it
    is saved (a variable the document does not have is refused then, not when printed)."""
    return {k: v for k, v in _samples().items() if k in variables_of(kind)}


def _samples() -> dict[str, Any]:
    values: dict[str, Any] = {v: "示例" for v in VARIABLES_COMMON}
    values.update(
        lookup_url="https://example.org/t/demo/lookup",
        notify_due="2026年12月8日",
        decided_date="2026年12月1日",
        handle_due="2027年1月30日",
        redirect_channel_zh="仲裁",
        reason="示例理由",
        redirect_notice="",
        transfer_to="示例单位",
        transfer_external=False,
        transfer_note="",
        assignee_department="示例部门",
        plan="示例方案",
        extension_reason="需现场检测",
        extension_days=20,
        old_due="2027年1月30日",
        new_due="2027年3月1日",
        opinion="support",
        opinion_zh="支持",
        opinion_text="示例意见",
        result="示例意见",
        request_date="2026年12月20日",
        review_request_due="2027年1月5日",
        channel="示例途径",
        notice="示例告知",
    )
    return values
