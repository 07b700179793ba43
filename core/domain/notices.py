"""The outbox payload contract: which cases a notification is about.

Pure. Delivery links each inbox message to these cases (``inbox_message_case``) so the
inbox can re-check visibility at every read; the notify migration that back-filled those
links for older messages reads payloads by the same contract.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CASE_LINK = re.compile(r"^/cases/(\d+)(?:[/?#]|$)")


def load_payload(payload: Any) -> dict[str, Any]:
    """An outbox payload as a dict, whether the engine returned JSON text or a value."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    return payload if isinstance(payload, dict) else {}


def cases_of(payload: dict[str, Any]) -> set[int]:
    """The cases a notification is about (outbox payload contract): ``case_id`` /
    ``*_case_id``, ``case_ids`` / ``*_case_ids``, and a ``link`` to ``/cases/<id>``."""
    out: set[int] = set()
    for key, value in payload.items():
        if key == "case_id" or key.endswith("_case_id"):
            values: Any = [value]
        elif key == "case_ids" or key.endswith("_case_ids"):
            values = value if isinstance(value, list) else []
        else:
            continue
        out.update(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    link = payload.get("link")
    if isinstance(link, str) and (m := _CASE_LINK.match(link)):
        out.add(int(m.group(1)))
    return out
