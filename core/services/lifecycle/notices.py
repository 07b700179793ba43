"""书面告知: the written notice as given (channel, date, document), recorded as the
``notify`` step, which meets the 15-day notice clock — or says when it was given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from core.errors import Conflict, InvalidInput
from core.schemas import NOTICE_CHANNEL_ZH, ActionIn
from core.services import deadlines, events
from core.services.cases import CaseDetail
from core.services.lifecycle.context import Ctx, Step, local_today
from core.services.scope import Scope
from core.settings import TIMEZONE


@dataclass(frozen=True)
class Notice:
    """书面告知 as given: how, on which day, and (when printed) which document."""

    channel: str
    given_on: date
    note: str = ""
    document: dict[str, Any] | None = None
    """The issued document (e.g. ``{"code": ..., "id": ...}``) when a printed notice."""

    def payload(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "given_on": self.given_on.isoformat(),
            "note": self.note,
            "document": self.document,
        }


async def record_notice(
    scope: Scope,
    case_id: int,
    notice: Notice,
    *,
    version: int | None = None,
) -> CaseDetail:
    """Record that the written notice (告知) was given — in person, by post, SMS or
    online, on ``given_on`` — as a ``notify`` event, and meet the ``notify`` clock.

    Issuing a printed notice calls this with ``document`` set, inside its own
    transaction (``tenant_tx`` nests), so the document and the met clock commit
    together."""
    # Here, not at the top: the dispatcher imports this module for its step.
    from core.services.lifecycle.dispatch import perform

    return await perform(scope, case_id, "notify", ActionIn(version=version), notice=notice)


# The notice clock (告知, 15 days) is met only by ``notify`` — a notice actually given —
# never by the decision it reports (accept, not_accept, transfer).


async def _notify(c: Ctx) -> dict[str, Any]:
    n = c.notice
    assert n is not None  # perform() refuses "notify" without one
    if n.channel not in NOTICE_CHANNEL_ZH:
        raise InvalidInput(
            "invalid_choice",
            f"告知方式只能是：{'、'.join(f'{k}（{v}）' for k, v in NOTICE_CHANNEL_ZH.items())}。",
            field="channel",
        )
    received = c.case["received_at"].astimezone(TIMEZONE).date()
    if n.given_on > local_today(c.rt):
        raise InvalidInput(
            "notice_in_future", "告知日期不能晚于今天：请在实际告知后登记。", field="given_on"
        )
    if n.given_on < received:
        raise InvalidInput(
            "notice_before_receipt",
            f"告知日期不能早于收到信访事项的日期（{received.isoformat()}）。",
            field="given_on",
        )
    met_at = c.now
    if n.given_on < local_today(c.rt):
        met_at = datetime.combine(n.given_on, time.min, tzinfo=TIMEZONE)
    settled = await deadlines.settle(c.scope, c.cid, ["notify"], now=c.now, met_at=met_at)
    if not settled:
        given = await _earlier_notice(c)
        if given is not None:
            raise Conflict(
                "notice_already_given",
                f"已于 {given['given_on']} 以“{given['channel_zh']}”方式告知信访人，无需重复登记。",
                field="action",
            )
        raise Conflict("no_notice_due", "该事项没有待书面告知的期限。", field="action")
    due = settled[0]["due"]
    return {
        **n.payload(),
        "channel_zh": NOTICE_CHANNEL_ZH[n.channel],
        "due": due.isoformat(),
        "late": n.given_on > due,
    }


async def _earlier_notice(c: Ctx) -> dict[str, Any] | None:
    for e in reversed(await events.events_of(c.scope, c.cid)):
        if e["kind"] == "notify":
            return dict(e["data"])
    return None


STEPS: dict[str, Step] = {"notify": _notify}
