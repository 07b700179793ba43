"""Daily export of the audit chain heads (docs/security.md, "Audit").

Idempotent per day: a chain already exported today (Asia/Shanghai) is skipped, so a
restart (``run_at_startup``) or arq's at-least-once delivery adds no duplicate lines."""

from __future__ import annotations

from typing import Any

from core.runtime import Runtime
from core.services import audit


async def audit_export_heads(ctx: dict[str, Any]) -> int:
    rt: Runtime = ctx["rt"]
    lines = await audit.export_heads(rt, rt.settings.audit_heads_path, once_per_day=True)
    return len(lines)
