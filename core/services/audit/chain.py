"""The write side of the audit log: who acts, the keys, the MAC over a row, and
``append`` (inside the caller's transaction)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from piccolo.engine.postgres import PostgresEngine

from core.db import scoped
from core.db.engine import get_engine, tenant_tx
from core.db.tables import AuditHead, AuditLog
from core.domain.lifecycle import ACTIONS as CASE_ACTIONS

if TYPE_CHECKING:
    from core.principal import Principal
    from core.runtime import Runtime
    from core.services.scope import Scope

DEPLOYMENT = 0
"""Tenant id of the deployment-level chain (events that belong to no tenant)."""
GENESIS = "0" * 64
"""``prev_hash`` of each chain's first row."""


# --- who acts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    label: str
    """Short label stored with each row: a username, ``cli``, ``system``, ``open311``."""
    user_id: int | None = None
    tenant_id: int | None = None
    """The tenant the user belongs to; ``None`` for non-users (cli, system)."""
    tenant_slug: str = ""


SYSTEM = Actor("system")
CLI = Actor("cli")
OPEN311 = Actor("open311")
_actor: ContextVar[Actor] = ContextVar("xinfang_audit_actor", default=SYSTEM)


def actor_of(p: Principal) -> Actor:
    return Actor(p.username, p.user_id, p.tenant_id, p.tenant_slug)


def set_actor(actor: Actor) -> Token[Actor]:
    return _actor.set(actor)


def reset_actor(token: Token[Actor]) -> None:
    _actor.reset(token)


@contextmanager
def acting(actor: Actor) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


# --- hashing ---------------------------------------------------------------------------


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _message(prev_hash: str, row: Mapping[str, Any]) -> bytes:
    """What the HMAC covers. ``seq`` is not in it: a row's place is fixed by the link to
    its predecessor, which is how verification tells a reordering from an edit."""
    body = {
        "tenant_id": row["tenant_id"],
        "at": _at_text(row["at"]),
        "actor_id": row["actor_id"],
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "detail": row["detail"],
    }
    return prev_hash.encode("ascii") + b"\n" + canonical(body).encode("utf-8")


# --- append ----------------------------------------------------------------------------


class _Unset:
    pass


_UNSET = _Unset()


@asynccontextmanager
async def _scope(tenant_id: int) -> AsyncIterator[None]:
    """Join the caller's transaction (already scoped to ``tenant_id``), or open one.
    A deployment-level row inside another transaction (tenant creation runs in the
    global one) re-scopes row-level security to tenant 0 and back."""
    engine = get_engine()
    if engine.current_transaction.get() is None:
        async with tenant_tx(tenant_id):
            yield
        return
    if tenant_id != DEPLOYMENT or not isinstance(engine, PostgresEngine):
        yield
        return
    tx = engine.current_transaction.get()
    assert tx is not None
    old = await tx.connection.fetchval("SELECT current_setting('app.tenant_id', true)")
    await tx.connection.execute("SELECT set_config('app.tenant_id', '0', true)")
    try:
        yield
    finally:
        await tx.connection.execute("SELECT set_config('app.tenant_id', $1, true)", old or "")


async def append(
    rt: Runtime,
    tenant_id: int,
    action: str,
    *,
    actor_id: int | _Unset | None = _UNSET,
    actor: str | None = None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one row to the tenant's chain inside the caller's transaction (or a new
    one); returns its ``seq``. ``detail`` must hold no personal data, passwords or
    tokens: ids, codes, field names, counts."""
    keys = rt.keys
    now = at or rt.clock.now()
    who = _actor.get()
    local = who.tenant_id is None or who.tenant_id == tenant_id
    row: dict[str, Any] = {
        "tenant_id": tenant_id,
        "at": now,
        "actor_id": (who.user_id if local else None) if isinstance(actor_id, _Unset) else actor_id,
        "actor": (actor or (who.label if local else f"{who.tenant_slug}:{who.label}"))[:127],
        "action": action,
        "target": target[:127],
        "detail": canonical(dict(detail or {})),
    }
    async with _scope(tenant_id):
        seq, prev = await _lock_head(tenant_id)
        digest = keys.audit_mac(_message(prev, row))
        # An AFTER INSERT trigger moves audit_head.hash to this row (m0005_audit_tenancy).
        await AuditLog.insert(AuditLog(**row, seq=seq, prev_hash=prev, hash=digest))
    return seq


async def _lock_head(tenant_id: int) -> tuple[int, str]:
    """Take the next ``seq`` and the previous hash; the row lock is held until commit,
    so appends to one chain are serialized and gap-free."""
    for _ in range(2):
        rows = await scoped.update(
            tenant_id, AuditHead, {AuditHead.seq: AuditHead.seq + 1}
        ).returning(AuditHead.seq, AuditHead.hash)
        if rows:
            return int(rows[0]["seq"]), str(rows[0]["hash"])
        await AuditHead.insert(AuditHead(tenant_id=tenant_id, seq=0, hash=GENESIS)).on_conflict(
            target=AuditHead.tenant_id, action="DO NOTHING"
        )
    raise RuntimeError(f"audit head of tenant {tenant_id} could not be created")


def case_action(kind: str) -> str:
    """Audit action of a case event: ``case.action.accept`` for handling steps,
    ``case.registered``, ``case.open311_submitted``… for the others."""
    return f"case.action.{kind}" if kind in CASE_ACTIONS else f"case.{kind}"


async def record_reveal(
    scope: Scope,
    target: str,
    fields: Sequence[str],
    *,
    action: str = "reveal",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Personal data shown in clear to the acting person (its own small transaction
    when needed): which fields — never their values — and ``extra`` (the reason given,
    the person's id)."""
    p = scope.actor
    await append(
        scope.rt,
        scope.tenant_id,
        action,
        actor_id=p.user_id,
        actor=p.username,
        target=target,
        detail={**(extra or {}), "fields": sorted(fields)},
    )


async def record_export(scope: Scope, *, what: str, rows: int, fields: Sequence[str]) -> None:
    """An export that carries personal data in clear (``export.clear``) by the acting
    person: which export, how many rows, which fields — never the values."""
    p = scope.actor
    await append(
        scope.rt,
        scope.tenant_id,
        "export.clear",
        actor_id=p.user_id,
        actor=p.username,
        target=what,
        detail={"rows": rows, "fields": sorted(fields)},
    )
