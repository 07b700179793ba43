"""Reading the audit chains and verifying them: each broken link reported with what
most likely happened, and the heads files exported earlier checked against the chain."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.db import scoped
from core.db.engine import tenant_tx
from core.db.tables import AuditHead, AuditLog, Tenant
from core.security import Keys
from core.services.audit.chain import DEPLOYMENT, GENESIS, _message

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.services.scope import Scope

KIND_ZH = {
    "edited": "篡改",
    "deleted": "删除",
    "inserted": "插入",
    "reordered": "调序",
    "rewritten": "改写",
}


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


@dataclass
class _Walk:
    """One pass along a chain: what it has seen so far and the breaks it reports."""

    tenant_id: int
    keys: Keys
    head: Mapping[str, Any] | None
    report: ChainReport
    prev: str = GENESIS
    last: Mapping[str, Any] | None = None

    def broken(self, kind: str, seq: int | None, message: str) -> None:
        self.report.breaks.append(Break(kind, seq, message))

    def reordered(self, seq: int) -> None:
        # A swap breaks up to three links in a row: report the run once.
        breaks = self.report.breaks
        run = breaks[-1] if breaks else None
        if run and run.kind == "reordered" and run.seq is not None and run.until == seq - 1:
            breaks[-1] = Break(
                "reordered", run.seq, f"从第 {run.seq} 条到第 {seq} 条，记录顺序被调换。", seq
            )
        else:
            breaks.append(
                Break("reordered", seq, f"第 {seq} 条的前一条记录不在它之前：顺序被调换。", seq)
            )

    async def step(self, row: Mapping[str, Any], nxt: Mapping[str, Any] | None) -> None:
        """Judge one row by its MAC and its link; a forged row does not move the walk on."""
        seq = int(row["seq"])
        inserted = False
        if not _mac_ok(self.keys, row):
            linked = (nxt is not None and nxt["prev_hash"] == row["hash"]) or (
                nxt is None and self.head is not None and self.head["hash"] == row["hash"]
            )
            if linked:
                self.broken(
                    "edited", seq, f"第 {seq} 条（{row['action']}）的内容与哈希不符：被改动。"
                )
            else:
                inserted = True
                self.broken("inserted", seq, f"第 {seq} 条哈希无效且无记录指向它：伪造的插入记录。")
        elif row["prev_hash"] != self.prev:
            inserted = await self._misplaced(row, seq)
        if not inserted:
            self.prev, self.last = str(row["hash"]), row

    async def _misplaced(self, row: Mapping[str, Any], seq: int) -> bool:
        """A valid row that does not link to the one before it; True when it is a copy."""
        if len(await _seqs_with_hash(self.tenant_id, row["hash"])) > 1:
            self.broken("inserted", seq, f"第 {seq} 条与另一条记录完全相同：重复插入。")
            return True
        if row["prev_hash"] == GENESIS or await _seqs_with_hash(self.tenant_id, row["prev_hash"]):
            self.reordered(seq)
        else:
            after = f"第 {self.last['seq']} 条之后、" if self.last is not None else ""
            self.broken("deleted", seq, f"{after}第 {seq} 条之前的记录被删除。")
        return False

    async def finish(self) -> None:
        """The head must name the last row of the chain."""
        report, last = self.report, self.last
        if self.head is None:
            if last is not None:
                self.broken("deleted", None, "链头记录（audit_head）缺失。")
        elif last is None:
            if report.head_seq:
                self.broken("deleted", None, f"链头为第 {report.head_seq} 条，但记录已全部删除。")
        elif (report.head_hash, report.head_seq) != (last["hash"], last["seq"]):
            at = await _seqs_with_hash(self.tenant_id, report.head_hash)
            if not at:
                self.broken(
                    "deleted", None, f"链头为第 {report.head_seq} 条，但最新的记录已被删除。"
                )
            elif not any(b.seq is not None and b.seq >= min(at) for b in report.breaks):
                self.broken("edited", None, "链头（audit_head）与最后一条记录不符：链头被改动。")


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
    report = ChainReport(tenant_id)
    head = await head_of(tenant_id)
    if head is not None:
        report.head_seq, report.head_hash = int(head["seq"]), str(head["hash"])
    walk = _Walk(tenant_id, rt.keys, head, report)
    wanted = {int(h["seq"]): str(h["hash"]) for h in exported}
    found: dict[int, str] = {}
    rows = _stream(tenant_id)
    row = await anext(rows, None)
    while row is not None:
        nxt = await anext(rows, None)
        report.rows += 1
        if int(row["seq"]) in wanted:
            found[int(row["seq"])] = str(row["hash"])
        await walk.step(row, nxt)
        row = nxt
    await walk.finish()
    for seq, digest in sorted(wanted.items()):
        if found.get(seq) != digest:
            walk.broken("rewritten", seq, f"已导出的第 {seq} 条链头在数据库中不存在或哈希不同。")
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
