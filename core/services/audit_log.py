"""The tenant's audit log as its admin reads it: newest first, a page at a time (keyset on
``seq``), filtered by who acted or by action, and a check of its hash chain.

Reading only; the chain itself is ``core.services.audit``. A row about a case hidden
from the reader (they are accused in it, ``core.services.visibility``) is not shown:
even its target would tell them the complaint exists."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from msgspec import Struct

from core.db.tables import AuditLog
from core.errors import InvalidInput
from core.services import audit
from core.services.scope import Scope
from core.services.visibility import hidden_among

FAMILIES = {
    "login": "登录",
    "user": "用户",
    "token": "令牌",
    "department": "部门",
    "plugin": "插件",
    "tenant": "机构设置",
    "case": "信访事项",
    "visitor": "信访人",
    "reveal": "查看完整信息",
    "export": "导出",
    "session": "接访安排",
    "rota": "排班",
    "calendar": "工作日历",
    "open311": "Open311",
    "keys": "密钥",
}
"""Action families (the part before the first dot) a filter may name as a whole."""
ACTION = re.compile(r"[a-z0-9_]{1,40}(\.[a-z0-9_]{1,40}){0,3}")
_CASE_TARGET = re.compile(r"case:(\d{1,10})")
_SCAN = 10
"""Batches read at most for one page (rows about hidden cases are skipped)."""


class AuditEntry(Struct):
    seq: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    target: str
    detail: dict[str, Any]


class AuditPage(Struct):
    items: list[AuditEntry]
    next_before: int | None
    """``before`` for the next (older) page; None at the first row."""


class ChainBreak(Struct):
    kind: str
    kind_zh: str
    seq: int | None
    message: str


class ChainCheck(Struct):
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    breaks: list[ChainBreak]


def _filter(actor: str | None, action: str | None) -> Any:
    where: Any = None

    def both(a: Any, b: Any) -> Any:
        return b if a is None else a & b

    if actor:
        where = both(where, AuditLog.actor == actor[:127])
    if action:
        if action in FAMILIES:  # no _ or % in a family: LIKE matches it literally
            where = both(where, AuditLog.action.like(f"{action}.%"))
        elif ACTION.fullmatch(action):
            where = both(where, AuditLog.action == action)
        else:
            raise InvalidInput(
                "invalid_action",
                "操作应为操作类别或完整的操作名，如 user.created。",
                field="action",
            )
    return where


async def list_entries(
    scope: Scope,
    *,
    before: int | None = None,
    limit: int = 50,
    actor: str | None = None,
    action: str | None = None,
) -> AuditPage:
    where = _filter(actor, action)
    items: list[AuditEntry] = []
    cursor, more = before, True
    async with scope.tx(write=False):
        for _ in range(_SCAN):
            query = scope.select(AuditLog).order_by(AuditLog.seq, ascending=False)
            if where is not None:
                query = query.where(where)
            if cursor is not None:
                query = query.where(AuditLog.seq < cursor)
            rows = await query.limit(limit - len(items))
            more = len(rows) == limit - len(items)
            cases = {int(m[1]) for r in rows if (m := _CASE_TARGET.fullmatch(r["target"]))}
            hidden = await hidden_among(scope.actor, sorted(cases))
            for r in rows:
                m = _CASE_TARGET.fullmatch(r["target"])
                if m is None or int(m[1]) not in hidden:
                    items.append(_entry(r))
            if rows:
                cursor = int(rows[-1]["seq"])
            if not more or len(items) >= limit:
                break
    return AuditPage(items=items, next_before=cursor if more else None)


def _entry(row: dict[str, Any]) -> AuditEntry:
    detail = row["detail"]
    if isinstance(detail, str):
        detail = json.loads(detail) if detail else {}
    return AuditEntry(
        seq=int(row["seq"]),
        at=row["at"],
        actor=row["actor"],
        actor_id=row["actor_id"],
        action=row["action"],
        target=row["target"],
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )


async def verify(scope: Scope) -> ChainCheck:
    """Walk the tenant's chain link by link (``xinfang audit verify --tenant``)."""
    report = await audit.verify_chain(scope.rt, scope.tenant_id)
    return ChainCheck(
        ok=report.ok,
        rows=report.rows,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        breaks=[
            ChainBreak(b.kind, audit.KIND_ZH.get(b.kind, b.kind), b.seq, b.message)
            for b in report.breaks
        ],
    )
