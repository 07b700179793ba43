"""Audit log: an append-only, hash-chained record of every write, every login, every
reveal of personal data, every export in clear and every change of users, roles,
departments, plugin settings, tokens and keys (docs/security.md, "Audit").

Each tenant has its own chain; tenant 0 is the deployment's. A row's ``hash`` is an
HMAC-SHA256 (key derived from the application secret) over the previous row's hash and
the row's canonical JSON, so a database owner without the secret cannot recompute a
consistent chain, and the heads exported every day pin the history even against one who
has it. ``append`` runs inside the caller's transaction: the audit row commits or rolls
back with the write it records.

Who acts comes from the caller or from :data:`_actor`, set per request by the web
authentication middleware (``cli`` in the command line, ``open311`` for a public
submission, ``system`` otherwise). Not from the scope's principal: the command line
acting as a named user and Open311 registering as its service account are recorded as
``cli`` and ``open311``, as they always were.

A chain is named by its tenant id, the deployment's (0) included: ``append`` and the
verification take that id; what reads or writes for one tenant's staff takes its scope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piccolo.engine.postgres import PostgresEngine

from core.db import scoped
from core.db.engine import get_engine, tenant_tx
from core.db.tables import AuditHead, AuditLog, Tenant
from core.domain.lifecycle import ACTIONS as CASE_ACTIONS
from core.security import Keys
from core.settings import TIMEZONE

if TYPE_CHECKING:
    from core.principal import Principal
    from core.runtime import Runtime
    from core.services.scope import Scope

log = logging.getLogger("xinfang.audit")

DEPLOYMENT = 0
"""Tenant id of the deployment-level chain (events that belong to no tenant)."""
GENESIS = "0" * 64
"""``prev_hash`` of each chain's first row."""

KIND_ZH = {
    "edited": "篡改",
    "deleted": "删除",
    "inserted": "插入",
    "reordered": "调序",
    "rewritten": "改写",
}


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
    scope: Scope, target: str, fields: Sequence[str], *, action: str = "reveal"
) -> None:
    """Personal data shown in clear to the acting person (its own small transaction
    when needed)."""
    p = scope.actor
    await append(
        scope.rt,
        scope.tenant_id,
        action,
        actor_id=p.user_id,
        actor=p.username,
        target=target,
        detail={"fields": sorted(fields)},
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


# --- reading ---------------------------------------------------------------------------


async def tenant_ids() -> list[int]:
    """Every chain that may exist: the deployment's and one per tenant."""
    rows = await Tenant.select(Tenant.id).order_by(Tenant.id)
    return [DEPLOYMENT, *(int(r["id"]) for r in rows)]


async def head_of(tenant_id: int) -> dict[str, Any] | None:
    async with tenant_tx(tenant_id, write=False):
        row: dict[str, Any] | None = await scoped.select(
            tenant_id, AuditHead, AuditHead.seq, AuditHead.hash
        ).first()
    return row


async def heads(rt: Runtime) -> list[dict[str, Any]]:
    """The current head of every chain that has rows."""
    out = []
    for tid in await tenant_ids():
        head = await head_of(tid)
        if head is not None and head["seq"] > 0:
            out.append({"tenant_id": tid, "seq": head["seq"], "hash": head["hash"]})
    return out


async def recent(scope: Scope, limit: int = 50) -> list[dict[str, Any]]:
    """The newest rows of the scope's tenant's chain."""
    async with scope.tx(write=False):
        rows: list[dict[str, Any]] = (
            await scope.select(AuditLog).order_by(AuditLog.seq, ascending=False).limit(limit)
        )
    return rows


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    kind: str
    """edited | deleted | inserted | reordered | rewritten"""
    seq: int | None
    message: str
    until: int | None = None
    """Last seq of a run of reordered rows reported as one break."""


@dataclass
class ChainReport:
    tenant_id: int
    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


_BATCH = 2000


async def _stream(tenant_id: int) -> AsyncIterator[dict[str, Any]]:
    """Rows in chain order, in batches (keyset on seq, id), each batch its own read."""
    last: tuple[int, int] | None = None
    while True:
        query = scoped.select(tenant_id, AuditLog)
        if last is not None:
            query = query.where(
                (AuditLog.seq > last[0]) | ((AuditLog.seq == last[0]) & (AuditLog.id > last[1]))
            )
        async with tenant_tx(tenant_id, write=False):
            rows = await query.order_by(AuditLog.seq, AuditLog.id).limit(_BATCH)
        for row in rows:
            yield row
        if len(rows) < _BATCH:
            return
        last = (rows[-1]["seq"], rows[-1]["id"])


async def _seqs_with_hash(tenant_id: int, digest: str) -> list[int]:
    async with tenant_tx(tenant_id, write=False):
        rows = await scoped.select(tenant_id, AuditLog, AuditLog.seq).where(AuditLog.hash == digest)
    return [int(r["seq"]) for r in rows]


def _mac_ok(keys: Keys, row: Mapping[str, Any]) -> bool:
    from core.security import constant_time_equals

    candidates = keys.audit_mac_candidates(_message(str(row["prev_hash"]), row))
    return any(constant_time_equals(c, str(row["hash"])) for c in candidates)


async def verify_chain(
    rt: Runtime, tenant_id: int, exported: Sequence[Mapping[str, Any]] = ()
) -> ChainReport:
    """Walk one chain and report each broken link with what most likely happened:

    * ``edited``: a row's MAC fails but the next row still links to it;
    * ``inserted``: a row's MAC fails and nothing links to it, or a valid row repeats;
    * ``deleted``: a valid row links to a hash that is no longer there;
    * ``reordered``: a valid row links to a row that exists elsewhere in the chain;
    * ``rewritten``: a head exported earlier (``exported``) is not in the chain.
    """
    keys = rt.keys
    report = ChainReport(tenant_id)
    head = await head_of(tenant_id)
    if head is not None:
        report.head_seq, report.head_hash = int(head["seq"]), str(head["hash"])
    wanted = {int(h["seq"]): str(h["hash"]) for h in exported}
    found: dict[int, str] = {}
    prev, last = GENESIS, None

    def broken(kind: str, seq: int | None, message: str) -> None:
        report.breaks.append(Break(kind, seq, message))

    def reordered(seq: int) -> None:
        # A swap breaks up to three links in a row: report the run once.
        run = report.breaks[-1] if report.breaks else None
        if run and run.kind == "reordered" and run.seq is not None and run.until == seq - 1:
            report.breaks[-1] = Break(
                "reordered", run.seq, f"从第 {run.seq} 条到第 {seq} 条，记录顺序被调换。", seq
            )
        else:
            report.breaks.append(
                Break("reordered", seq, f"第 {seq} 条的前一条记录不在它之前：顺序被调换。", seq)
            )

    rows = _stream(tenant_id)
    row = await anext(rows, None)
    while row is not None:
        nxt = await anext(rows, None)
        seq = int(row["seq"])
        report.rows += 1
        if seq in wanted:
            found[seq] = str(row["hash"])
        inserted = False
        if not _mac_ok(keys, row):
            linked = (nxt is not None and nxt["prev_hash"] == row["hash"]) or (
                nxt is None and head is not None and head["hash"] == row["hash"]
            )
            if linked:
                broken("edited", seq, f"第 {seq} 条（{row['action']}）的内容与哈希不符：被改动。")
            else:
                inserted = True
                broken("inserted", seq, f"第 {seq} 条哈希无效且无记录指向它：伪造的插入记录。")
        elif row["prev_hash"] != prev:
            if len(await _seqs_with_hash(tenant_id, row["hash"])) > 1:
                inserted = True
                broken("inserted", seq, f"第 {seq} 条与另一条记录完全相同：重复插入。")
            elif row["prev_hash"] == GENESIS or await _seqs_with_hash(tenant_id, row["prev_hash"]):
                reordered(seq)
            else:
                after = f"第 {last['seq']} 条之后、" if last is not None else ""
                broken("deleted", seq, f"{after}第 {seq} 条之前的记录被删除。")
        if not inserted:
            prev, last = str(row["hash"]), row
        row = nxt

    if head is None:
        if last is not None:
            broken("deleted", None, "链头记录（audit_head）缺失。")
    elif last is None:
        if report.head_seq:
            broken("deleted", None, f"链头为第 {report.head_seq} 条，但记录已全部删除。")
    elif (report.head_hash, report.head_seq) != (last["hash"], last["seq"]):
        at = await _seqs_with_hash(tenant_id, report.head_hash)
        if not at:
            broken("deleted", None, f"链头为第 {report.head_seq} 条，但最新的记录已被删除。")
        elif not any(b.seq is not None and b.seq >= min(at) for b in report.breaks):
            broken("edited", None, "链头（audit_head）与最后一条记录不符：链头被改动。")

    for seq, digest in sorted(wanted.items()):
        if found.get(seq) != digest:
            broken("rewritten", seq, f"已导出的第 {seq} 条链头在数据库中不存在或哈希不同。")
    return report


async def verify(
    rt: Runtime, tenant_id: int | None = None, exported: Sequence[Mapping[str, Any]] = ()
) -> list[ChainReport]:
    """Verify one chain or every chain; ``exported``: head records read from heads files."""
    if tenant_id is not None:
        ids = [tenant_id]
    else:
        ids = sorted({*await tenant_ids(), *(int(h["tenant_id"]) for h in exported)})
    return [
        await verify_chain(rt, tid, [h for h in exported if int(h["tenant_id"]) == tid])
        for tid in ids
    ]


def read_heads_file(path: Path) -> list[dict[str, Any]]:
    """Head records from a heads file (one JSON object a line; blank lines ignored)."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            out.append(
                {
                    "tenant_id": int(record["tenant_id"]),
                    "seq": int(record["seq"]),
                    "hash": str(record["hash"]),
                    "at": str(record.get("at", "")),
                }
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: 第 {number} 行不是链头记录（{exc}）") from None
    return out


# --- exporting heads ---------------------------------------------------------------------


def _syslog(address: str) -> logging.Handler:
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = (host, int(port)) if host and port.isdigit() else address
    handler = logging.handlers.SysLogHandler(address=target)
    handler.setFormatter(logging.Formatter("xinfang-audit: %(message)s"))
    return handler


_syslog_handlers: dict[str, logging.Handler] = {}


async def export_heads(
    rt: Runtime, path: Path, *, once_per_day: bool = False
) -> list[dict[str, Any]]:
    """Append the current head of every chain to ``path`` (one JSON line each) and log
    it through ``xinfang.audit`` (and syslog when ``XINFANG_AUDIT_SYSLOG`` is set).
    ``once_per_day``: skip chains already exported today (Asia/Shanghai) — the daily job
    may run more than once."""
    now = rt.clock.now().astimezone(TIMEZONE)
    done = await asyncio.to_thread(_exported_on, path, now.date().isoformat())
    skip = done if once_per_day else set()
    lines = [{**h, "at": now.isoformat()} for h in await heads(rt) if h["tenant_id"] not in skip]
    if not lines:
        return []
    await asyncio.to_thread(_append_lines, path, [canonical(line) for line in lines])
    address = rt.settings.audit_syslog
    if address and address not in _syslog_handlers:
        _syslog_handlers[address] = _syslog(address)
        log.addHandler(_syslog_handlers[address])
    for line in lines:
        log.info("audit head %s", canonical(line))
    return lines


def _exported_on(path: Path, day: str) -> set[int]:
    if not path.exists():
        return set()
    return {h["tenant_id"] for h in read_heads_file(path) if h["at"][:10] == day}


def _append_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
