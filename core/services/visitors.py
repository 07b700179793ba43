"""Petitioners (信访人): one file per person (立户), personal data encrypted at rest.

A person is recognised by ID number (keyed hash) or, lacking one, by name + phone.
Lists only ever carry the masked forms; nothing raw is logged or put in errors.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from core.db.tables import CaseTransfer, Visitor
from core.domain import identity
from core.errors import InvalidInput, NotFound
from core.runtime import Runtime
from core.schemas import PersonIn, VisitorIn
from core.services import audit
from core.services.answers import RegisteredVisitor, VisitorDetail, VisitorMatter, VisitorOut
from core.services.scope import Scope
from core.services.visibility import matters_of

LIST_COLUMNS = (
    Visitor.id,
    Visitor.name,
    Visitor.id_number_masked,
    Visitor.phone_masked,
    Visitor.address_masked,
    Visitor.gender,
    Visitor.flags,
    Visitor.created_at,
)


def visitor_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored person as answers show them (the fields of ``VisitorOut``): numbers and
    address masked, what is missing null."""
    # INSERT … RETURNING and reads without load_json carry the flags as JSON text.
    flags = json.loads(row["flags"]) if isinstance(row["flags"], str) else row["flags"]
    return {
        "id": row["id"],
        "name": row["name"],
        "id_number": row["id_number_masked"] or None,
        "phone": row["phone_masked"] or None,
        "address": row["address_masked"] or None,
        "gender": row["gender"] or None,
        "flags": flags or {},
    }


class SealedPerson:
    """Validated, normalized, encrypted personal fields — ready to store."""

    def __init__(self, rt: Runtime, data: VisitorIn | PersonIn, prefix: str = "") -> None:
        keys = rt.keys
        today = rt.clock.today()
        self.name = data.name.strip()
        if not self.name:
            raise InvalidInput("name_required", "请填写姓名。", field=f"{prefix}name")
        self.name_hash = keys.blind_index(
            identity.normalize_for_lookup("name", self.name), purpose="name"
        )
        self.id_number = (
            identity.normalize_id_number(data.id_number, today=today, field=f"{prefix}id_number")
            if data.id_number
            else None
        )
        self.phone = (
            identity.normalize_phone(data.phone, field=f"{prefix}phone") if data.phone else None
        )
        address = getattr(data, "address", None)
        self.address = address.strip() if address else None
        self.id_number_hash = (
            keys.blind_index(
                identity.normalize_for_lookup("id_number", self.id_number), purpose="id_number"
            )
            if self.id_number
            else None
        )
        self.phone_hash = (
            keys.blind_index(identity.normalize_for_lookup("phone", self.phone), purpose="phone")
            if self.phone
            else None
        )
        self.id_number_enc = (
            keys.encrypt(self.id_number, context="visitor.id_number") if self.id_number else None
        )
        self.phone_enc = keys.encrypt(self.phone, context="visitor.phone") if self.phone else None
        self.address_enc = (
            keys.encrypt(self.address, context="visitor.address") if self.address else None
        )
        self.id_number_masked = identity.mask_id_number(self.id_number) if self.id_number else ""
        self.phone_masked = identity.mask_phone(self.phone) if self.phone else ""
        self.address_masked = identity.mask_address(self.address) if self.address else ""
        self.gender = identity.gender_from_id(self.id_number) if self.id_number else ""
        # Stored rows may still be indexed under a previous key while a rotation runs.
        self.name_lookup = keys.blind_index_candidates(
            identity.normalize_for_lookup("name", self.name), purpose="name"
        )
        self.id_number_lookup = (
            keys.blind_index_candidates(
                identity.normalize_for_lookup("id_number", self.id_number), purpose="id_number"
            )
            if self.id_number
            else ()
        )
        self.phone_lookup = (
            keys.blind_index_candidates(
                identity.normalize_for_lookup("phone", self.phone), purpose="phone"
            )
            if self.phone
            else ()
        )


async def find_existing(scope: Scope, person: SealedPerson) -> dict[str, Any] | None:
    """Same person: same ID number, else same name and phone (only when no ID is given)."""
    query = scope.select(Visitor, *LIST_COLUMNS)
    if person.id_number_lookup:
        return (
            await query.where(Visitor.id_number_hash.is_in(list(person.id_number_lookup)))
            .order_by(Visitor.id)
            .output(load_json=True)
            .first()
        )
    if person.phone_lookup:
        return (
            await query.where(
                Visitor.name_hash.is_in(list(person.name_lookup))
                & Visitor.phone_hash.is_in(list(person.phone_lookup))
            )
            .order_by(Visitor.id)
            .output(load_json=True)
            .first()
        )
    return None


def _contact_values(person: SealedPerson, fields: Collection[str]) -> dict[Any, Any]:
    values: dict[Any, Any] = {}
    if "phone" in fields and person.phone_enc:
        values.update(
            {
                Visitor.phone_enc: person.phone_enc,
                Visitor.phone_hash: person.phone_hash,
                Visitor.phone_masked: person.phone_masked,
            }
        )
    if "address" in fields and person.address_enc:
        values.update(
            {
                Visitor.address_enc: person.address_enc,
                Visitor.address_masked: person.address_masked,
            }
        )
    return values


async def _update_contact(
    scope: Scope, visitor_id: int, person: SealedPerson, fields: Collection[str]
) -> dict[str, Any]:
    values = _contact_values(person, fields)
    if values:
        values[Visitor.updated_at] = scope.rt.clock.now()
        await scope.update(Visitor, values).where(Visitor.id == visitor_id)
        changed = [f for f in CONTACT_FIELDS if f in fields and getattr(person, f"{f}_enc")]
        await audit.append(
            scope.rt,
            scope.tenant_id,
            "visitor.updated",
            target=f"visitor:{visitor_id}",
            detail={"fields": changed},
        )
    row = (
        await scope.select(Visitor, *LIST_COLUMNS)
        .where(Visitor.id == visitor_id)
        .output(load_json=True)
        .first()
    )
    assert row is not None
    return visitor_out(row)


async def _insert(scope: Scope, person: SealedPerson) -> dict[str, Any]:
    now = scope.rt.clock.now()
    rows = await Visitor.insert(
        Visitor(
            tenant_id=scope.tenant_id,
            name=person.name,
            name_hash=person.name_hash,
            id_number_enc=person.id_number_enc,
            id_number_hash=person.id_number_hash,
            id_number_masked=person.id_number_masked,
            phone_enc=person.phone_enc,
            phone_hash=person.phone_hash,
            phone_masked=person.phone_masked,
            address_enc=person.address_enc,
            address_masked=person.address_masked,
            gender=person.gender,
            flags={},
            created_at=now,
            updated_at=now,
        )
    ).returning(*LIST_COLUMNS)
    await audit.append(
        scope.rt, scope.tenant_id, "visitor.registered", target=f"visitor:{rows[0]['id']}"
    )
    return visitor_out(rows[0])


async def upsert_visitor(scope: Scope, data: VisitorIn) -> tuple[dict[str, Any], bool]:
    """Return (visitor, created). Must run inside the caller's tenant transaction.

    Only for the tenant's own staff registering a person: what they type is the
    tenant's own decision. Data from another tenant goes through ``link_visitor``."""
    person = SealedPerson(scope.rt, data, prefix="visitor.")
    existing = await find_existing(scope, person)
    if existing is not None:
        # Fill in what was missing; a new phone or address replaces the old one.
        return await _update_contact(scope, existing["id"], person, CONTACT_FIELDS), False
    return await _insert(scope, person), True


CONTACT_FIELDS = ("phone", "address")


@dataclass(frozen=True)
class ContactCopy:
    """Another tenant's contact data for a person this tenant already has: a copy for
    the receiver's staff to review, never written into their record by itself."""

    fields: tuple[str, ...]
    """Which fields differ from (or are missing in) the receiver's record."""
    phone: str | None
    address: str | None


async def link_visitor(
    scope: Scope, data: VisitorIn
) -> tuple[dict[str, Any], bool, ContactCopy | None]:
    """(visitor, created, copy) for data that comes from *another* tenant (a transfer).

    The receiver's existing person (same ID number, else same name and phone) is linked
    as it is; only a person unknown here gets a new record. Contact data that differs
    comes back as a ``ContactCopy``. Inside the receiver's tenant transaction, with
    the receiver's scope."""
    rt = scope.rt
    person = SealedPerson(rt, data, prefix="visitor.")
    existing = await find_existing(scope, person)
    if existing is None:
        return await _insert(scope, person), True, None
    mine = (
        await scope.select(Visitor, Visitor.phone_hash, Visitor.address_enc)
        .where(Visitor.id == existing["id"])
        .first()
    )
    assert mine is not None
    fields: list[str] = []
    if person.phone and mine["phone_hash"] not in person.phone_lookup:
        fields.append("phone")
    if person.address:
        current = (
            rt.keys.decrypt(mine["address_enc"], context="visitor.address")
            if mine["address_enc"]
            else None
        )
        if current is None or current.strip() != person.address:
            fields.append("address")
    copy = None
    if fields:
        copy = ContactCopy(
            tuple(fields),
            person.phone if "phone" in fields else None,
            person.address if "address" in fields else None,
        )
    return existing, False, copy


async def adopt_contact(
    scope: Scope,
    visitor_id: int,
    fields: Collection[str],
    *,
    phone: str | None,
    address: str | None,
) -> dict[str, Any]:
    """Write a reviewed copy's ``fields`` into this tenant's person record (the
    receiver's own step). Inside the caller's tenant transaction."""
    row = await scope.select(Visitor, Visitor.name).where(Visitor.id == visitor_id).first()
    if row is None:
        raise NotFound("visitor_not_found", "信访人不存在。")
    person = SealedPerson(scope.rt, VisitorIn(name=row["name"], phone=phone, address=address))
    return await _update_contact(scope, visitor_id, person, fields)


async def register_visitor(scope: Scope, data: VisitorIn) -> RegisteredVisitor:
    async with scope.tx():
        visitor, created = await upsert_visitor(scope, data)
    return RegisteredVisitor(**visitor, created=created)


async def list_visitors(
    scope: Scope,
    *,
    after: int | None = None,
    limit: int = 50,
    id_number: str | None = None,
    phone: str | None = None,
) -> list[VisitorOut]:
    rt = scope.rt
    query = scope.select(Visitor, *LIST_COLUMNS)
    # Candidates: rows not yet moved by `xinfang keys rotate` carry the previous key's hash.
    if id_number:
        norm = identity.normalize_id_number(id_number, today=rt.clock.today())
        hashes = rt.keys.blind_index_candidates(
            identity.normalize_for_lookup("id_number", norm), purpose="id_number"
        )
        query = query.where(Visitor.id_number_hash.is_in(list(hashes)))
    if phone:
        norm = identity.normalize_phone(phone)
        hashes = rt.keys.blind_index_candidates(
            identity.normalize_for_lookup("phone", norm), purpose="phone"
        )
        query = query.where(Visitor.phone_hash.is_in(list(hashes)))
    if after is not None:
        query = query.where(Visitor.id < after)
    async with scope.tx(write=False):
        rows = await query.order_by(Visitor.id, ascending=False).limit(limit)
    return [VisitorOut(**visitor_out(r)) for r in rows]


async def get_visitor(scope: Scope, visitor_id: int) -> VisitorDetail:
    async with scope.tx(write=False):
        row = (
            await scope.select(Visitor, *LIST_COLUMNS)
            .where(Visitor.id == visitor_id)
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("visitor_not_found", "信访人不存在。")
        matters = await matters_of(scope, visitor_id)
    return VisitorDetail(
        **visitor_out(row),
        cases=[VisitorMatter(**m) for m in reversed(matters)],  # chronological
    )


async def transfer_contact_of(
    scope: Scope, case_id: int, flags: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The contact copy a cross-tenant transfer brought to this case, masked (inside
    the caller's tenant transaction); None when it brought none."""
    row = (
        await scope.select(
            CaseTransfer,
            CaseTransfer.phone_masked,
            CaseTransfer.address_masked,
            CaseTransfer.contact_state,
            CaseTransfer.contact_decided_at,
            CaseTransfer.contact_decided_by,
        )
        .where(
            (CaseTransfer.case_id == case_id)
            & (CaseTransfer.direction == "in")
            & (CaseTransfer.contact_state != "")
        )
        .order_by(CaseTransfer.id, ascending=False)
        .first()
    )
    if row is None:
        return None
    source = (flags or {}).get("transferred_from") or {}
    fields = [f for f in CONTACT_FIELDS if row[f"{f}_masked"]]
    return {
        "fields": fields,
        "phone": row["phone_masked"] or None,
        "address": row["address_masked"] or None,
        "state": row["contact_state"],
        "from_tenant": source.get("tenant"),
        "from_tenant_name": source.get("tenant_name"),
        "decided_at": row["contact_decided_at"],
        "decided_by": row["contact_decided_by"],
    }
