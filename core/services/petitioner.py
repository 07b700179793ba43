"""Telling the petitioner (信访人) what became of their matter, through the tenant's
petitioner channel (``notify.petitioner_channel``, e.g. the ``sms_http`` plugin).

One outbox row per (case, event), keyed ``petitioner:<case>:<event>``, written in the
step's own transaction by :func:`tell` — only when the tenant has a petitioner channel
and the visitor has a phone. The payload carries ids and non-personal facts only (case,
visitor, receipt code, event, date, the proper channel's code, the opinion's code):
the deliverer (``daemon.notify.deliver``) decrypts the phone when it sends, and the
channel's plugin words the message from the tenant's template.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.db.tables import Visitor
from core.plugin_api import TenantInfo
from core.services import events
from core.services.scope import Scope
from core.services.tenant_settings import petitioner_channel
from core.settings import TIMEZONE

EVENTS: dict[str, str] = {
    "registered": "registered",
    "redirected": "not_accepted",  # 诉访分离 at registration: told the proper channel
    "closed_at_first_contact": "result",
    "accept": "accepted",
    "not_accept": "not_accepted",
    "close": "result",
    "approve_report": "result",
    "decide_review": "review_result",
    "decide_rereview": "rereview_result",
}
"""The step (registration event or lifecycle action) → what the petitioner is told:
``registered`` (receipt code and how to look the matter up), ``accepted``,
``not_accepted`` (with the proper channel), ``result`` (closed with an opinion),
``review_result`` / ``rereview_result`` (the 复查 / 复核 opinion)."""

KIND_PREFIX = "petitioner."
"""Outbox ``kind`` of a petitioner message: ``petitioner.<event>``."""


async def tell(
    scope: Scope,
    tenant: TenantInfo,
    case: dict[str, Any],
    step: str,
    data: dict[str, Any],
    *,
    at: datetime,
) -> bool:
    """Queue the petitioner's message about ``step`` of ``case`` (``id``,
    ``visitor_id``, ``receipt_code``) in the caller's transaction; False when nothing is
    to be told (no such event, no channel, no phone). Queued at most once per event."""
    event = EVENTS.get(step)
    channel = petitioner_channel(tenant.settings)
    if event is None or not channel:
        return False
    visitor_id = int(case["visitor_id"])
    if not await scope.exists(Visitor).where(
        (Visitor.id == visitor_id) & Visitor.phone_enc.is_not_null()
    ):
        return False
    payload: dict[str, Any] = {
        "audience": "petitioner",
        "event": event,
        "case_id": int(case["id"]),
        "visitor_id": visitor_id,
        "receipt_code": str(case["receipt_code"]),
        "on": at.astimezone(TIMEZONE).date().isoformat(),
    }
    if event == "not_accepted":
        payload["redirect_channel"] = str(data.get("channel") or "other")[:31]
    if event.endswith("result"):
        payload["opinion"] = str(data.get("opinion") or "")[:31]
    await events.enqueue(
        scope,
        KIND_PREFIX + event,
        dedupe_key=f"petitioner:{payload['case_id']}:{event}",
        at=at,
        payload=payload,
        channel=channel,
    )
    return True
