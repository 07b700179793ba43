"""Secret-key rotation: move every encrypted field and blind index to the current key.

``xinfang keys rotate`` walks each tenant's rows in short keyset batches (one
transaction each, under ``tenant_tx`` so row-level security holds), decrypts with
whichever configured key opens a token, re-encrypts with the current key and recomputes
the blind indexes. A row already under the current key is left alone, so the walk is
idempotent: a run that is stopped (``max_batches``, a kill, a crash) is finished by
running it again. ``status`` is the same walk without writing.

While it runs, the application keeps working: it decrypts with the current or a previous
key and looks rows up by ``Keys.blind_index_candidates``. Nothing here logs or returns
plaintext — only counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from piccolo.columns import Column
from piccolo.table import Table

from core.db.engine import is_postgres
from core.db.tables import (
    CaseEvent,
    CaseParticipant,
    CaseTransfer,
    PetitionCase,
    Tenant,
    Visitor,
)
from core.domain import identity
from core.errors import InvalidInput, NotFound
from core.runtime import Runtime
from core.security import DecryptionError, Keys
from core.services.scope import Scope
from core.services.sector import SEALED

# Older versions wrote the Open311 email only into this append-only event; events are
# never rewritten, so rotation copies such an email to ``visitor.email_enc`` instead.
LEGACY_EMAIL_EVENT = "open311_submitted"


class _Fix:
    """What one row needs rewritten to be entirely under the current key."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.changes: dict[Column | str, Any] = {}  # column name → new value
        self.unreadable = False

    def token(self, token: str | None, context: str) -> tuple[str | None, str | None]:
        """(plaintext, token under the current key); (None, token) when unreadable."""
        if not token:
            return None, token
        try:
            plain, stale = self.keys.decrypt_for_rotation(token, context=context)
        except DecryptionError:
            self.unreadable = True  # no configured key opens it: leave it as it is
            return None, token
        return plain, self.keys.encrypt(plain, context=context) if stale else token

    def column(self, row: dict[str, Any], name: str, context: str) -> str | None:
        plain, token = self.token(row[name], context)
        if token != row[name]:
            self.changes[name] = token
        return plain

    def index(
        self,
        row: dict[str, Any],
        name: str,
        kind: Literal["id_number", "phone", "name"],
        value: str | None,
    ) -> None:
        if value is None:
            return
        try:
            want = self.keys.blind_index(identity.normalize_for_lookup(kind, value), purpose=kind)
        except InvalidInput:
            return  # never valid as a lookup value: nothing could find it by hash anyway
        if row[name] != want:
            self.changes[name] = want


def _visitor(fix: _Fix, row: dict[str, Any]) -> None:
    id_number = fix.column(row, "id_number_enc", "visitor.id_number")
    phone = fix.column(row, "phone_enc", "visitor.phone")
    fix.column(row, "address_enc", "visitor.address")
    if row["email_enc"]:
        fix.column(row, "email_enc", "visitor.email")
    elif row.get("legacy_email_enc"):
        email, _ = fix.token(row["legacy_email_enc"], "visitor.email")
        if email is not None:
            fix.changes["email_enc"] = fix.keys.encrypt(email, context="visitor.email")
    fix.index(row, "name_hash", "name", row["name"].strip() or None)
    fix.index(row, "id_number_hash", "id_number", id_number)
    fix.index(row, "phone_hash", "phone", phone)


def _participant(fix: _Fix, row: dict[str, Any]) -> None:
    # Representatives are sealed by ``SealedPerson`` with the visitor contexts.
    id_number = fix.column(row, "id_number_enc", "visitor.id_number")
    fix.column(row, "phone_enc", "visitor.phone")
    fix.index(row, "id_number_hash", "id_number", id_number)


def _transfer_copy(fix: _Fix, row: dict[str, Any]) -> None:
    # The contact copy a cross-tenant transfer brought (no blind index: never looked up).
    fix.column(row, "phone_enc", "case_transfer.phone")
    fix.column(row, "address_enc", "case_transfer.address")


def _case_form(fix: _Fix, row: dict[str, Any]) -> None:
    form = row["form"] or {}
    sealed: dict[str, str] = form.get(SEALED) or {}
    new = {key: fix.token(token, f"form.{key}")[1] or token for key, token in sealed.items()}
    if new != sealed:
        fix.changes["form"] = {**form, SEALED: new}


async def _legacy_emails(scope: Scope, rows: list[dict[str, Any]]) -> None:
    """Attach the latest Open311 email still only in the event log to each visitor."""
    ids = [r["id"] for r in rows if not r["email_enc"]]
    if not ids:
        return
    visitor = CaseEvent.case_id.visitor_id
    events = (
        await scope.select(CaseEvent, visitor.as_alias("visitor_id"), CaseEvent.data)
        .where((CaseEvent.kind == LEGACY_EMAIL_EVENT) & visitor.is_in(ids))
        .order_by(CaseEvent.id)
        .output(load_json=True)
    )
    latest = {e["visitor_id"]: e["data"]["email_enc"] for e in events if e["data"].get("email_enc")}
    for row in rows:
        row["legacy_email_enc"] = latest.get(row["id"])


@dataclass(frozen=True)
class _Spec:
    table: type[Table]
    columns: tuple[Column, ...]
    fix: Callable[[_Fix, dict[str, Any]], None]
    prefetch: Callable[[Scope, list[dict[str, Any]]], Awaitable[None]] | None = None


SPECS: dict[str, _Spec] = {
    "visitor": _Spec(
        Visitor,
        (
            Visitor.name,
            Visitor.name_hash,
            Visitor.id_number_enc,
            Visitor.id_number_hash,
            Visitor.phone_enc,
            Visitor.phone_hash,
            Visitor.address_enc,
            Visitor.email_enc,
        ),
        _visitor,
        _legacy_emails,
    ),
    "case_participant": _Spec(
        CaseParticipant,
        (CaseParticipant.id_number_enc, CaseParticipant.id_number_hash, CaseParticipant.phone_enc),
        _participant,
    ),
    "petition_case": _Spec(PetitionCase, (PetitionCase.form,), _case_form),
    "case_transfer": _Spec(
        CaseTransfer, (CaseTransfer.phone_enc, CaseTransfer.address_enc), _transfer_copy
    ),
}
"""Every table holding ``Keys.encrypt`` tokens or blind indexes, and how to rewrite a row."""

CONTEXTS = (
    "visitor.id_number",
    "visitor.phone",
    "visitor.address",
    "visitor.email",
    "form.",
    "case_transfer.phone",
    "case_transfer.address",
)
"""Encryption contexts (``form.`` is a prefix) that ``SPECS`` rewrites."""


@dataclass
class TableCount:
    scanned: int = 0
    stale: int = 0
    """Rows with a token or blind index under a previous key (found before rewriting)."""
    rewritten: int = 0
    unreadable: int = 0
    """Rows with a token that no configured key opens (left untouched)."""


@dataclass
class Report:
    tables: dict[str, TableCount] = field(default_factory=lambda: {n: TableCount() for n in SPECS})
    tenants: int = 0
    complete: bool = True
    """False when ``max_batches`` stopped the walk early: run again to continue."""

    def total(self, attr: str) -> int:
        return sum(getattr(c, attr) for c in self.tables.values())


class _Budget:
    """Batches left before stopping (``None``: no limit); empty batches are free."""

    def __init__(self, max_batches: int | None) -> None:
        self.left = max_batches

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def spend(self) -> None:
        if self.left is not None:
            self.left -= 1


async def _scopes(rt: Runtime, slug: str | None) -> list[Scope]:
    # Inactive tenants too: their personal data is under the key as well.
    query = Tenant.select(Tenant.id, Tenant.slug).order_by(Tenant.id)
    if slug is not None:
        query = query.where(Tenant.slug == slug)
    found = [Scope.system(rt, r["id"], r["slug"]) for r in await query]
    if slug is not None and not found:
        raise NotFound("tenant_not_found", f"机构 {slug} 不存在。", field="tenant")
    return found


async def _walk_table(
    scope: Scope,
    spec: _Spec,
    count: TableCount,
    *,
    batch: int,
    write: bool,
    budget: _Budget,
) -> bool:
    """Walk one tenant's rows of one table; False when the budget ran out."""
    table = spec.table
    pk: Any = table._meta.primary_key
    keys = scope.rt.keys
    last = 0
    while True:
        if budget.spent:
            return False
        async with scope.tx(write=write):
            query = (
                scope.select(table, pk, *spec.columns)
                .where(pk > last)
                .order_by(pk)
                .limit(batch)
                .output(load_json=True)
            )
            if write and is_postgres():
                # A web request updating the same row waits for this short transaction
                # instead of being overwritten by it.
                query = query.lock_rows()
            rows = await query
            if spec.prefetch is not None:
                await spec.prefetch(scope, rows)
            for row in rows:
                fix = _Fix(keys)
                spec.fix(fix, row)
                count.scanned += 1
                if fix.unreadable:
                    # Keep the row whole (no index under a key its tokens are not under);
                    # it is reported so the missing previous key can be supplied.
                    count.unreadable += 1
                    continue
                if not fix.changes:
                    continue
                count.stale += 1
                if write:
                    await scope.update(table, fix.changes).where(pk == row["id"])
                    count.rewritten += 1
        if rows:
            budget.spend()
        if len(rows) < batch:
            return True
        last = rows[-1]["id"]


async def _walk(
    rt: Runtime,
    *,
    tenant: str | None,
    batch: int,
    write: bool,
    max_batches: int | None = None,
) -> Report:
    if batch < 1:
        raise InvalidInput("batch_too_small", "每批行数至少为 1。", field="batch")
    report = Report()
    budget = _Budget(max_batches)
    for scope in await _scopes(rt, tenant):
        report.tenants += 1
        for name, spec in SPECS.items():
            done = await _walk_table(
                scope,
                spec,
                report.tables[name],
                batch=batch,
                write=write,
                budget=budget,
            )
            if not done:
                report.complete = False
                return report
    return report


async def rotate(
    rt: Runtime, *, tenant: str | None = None, batch: int = 500, max_batches: int | None = None
) -> Report:
    """Re-encrypt every token and recompute every blind index under the current key."""
    return await _walk(rt, tenant=tenant, batch=batch, write=True, max_batches=max_batches)


async def status(rt: Runtime, *, tenant: str | None = None, batch: int = 500) -> Report:
    """How many rows still depend on a previous key (``stale``) — nothing is written."""
    return await _walk(rt, tenant=tenant, batch=batch, write=False)
