"""Petitioners (信访人): one file per person (立户), personal data encrypted at rest.

A person is recognised by ID number (keyed hash) or, lacking one, by name + phone.
Lists only ever carry the masked forms; nothing raw is logged or put in errors.
"""

from __future__ import annotations

from typing import Any

from core.db.engine import tenant_tx
from core.db.tables import Visitor
from core.domain import identity
from core.errors import InvalidInput, NotFound
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import PersonIn, VisitorIn
from core.services import audit
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
    return {
        "id": row["id"],
        "name": row["name"],
        "id_number": row["id_number_masked"] or None,
        "phone": row["phone_masked"] or None,
        "address": row["address_masked"] or None,
        "gender": row["gender"] or None,
        "flags": row["flags"] or {},
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


async def find_existing(tenant_id: int, person: SealedPerson) -> dict[str, Any] | None:
    """Same person: same ID number, else same name and phone (only when no ID is given)."""
    query = Visitor.select(*LIST_COLUMNS).where(Visitor.tenant_id == tenant_id)
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


async def upsert_visitor(
    rt: Runtime, tenant_id: int, data: VisitorIn
) -> tuple[dict[str, Any], bool]:
    """Return (visitor, created). Must run inside the caller's tenant transaction."""
    person = SealedPerson(rt, data, prefix="visitor.")
    existing = await find_existing(tenant_id, person)
    now = rt.clock.now()
    if existing is not None:
        # Fill in what was missing; a new phone or address replaces the old one.
        values: dict[Any, Any] = {Visitor.updated_at: now}
        if person.phone_enc:
            values.update(
                {
                    Visitor.phone_enc: person.phone_enc,
                    Visitor.phone_hash: person.phone_hash,
                    Visitor.phone_masked: person.phone_masked,
                }
            )
        if person.address_enc:
            values.update(
                {
                    Visitor.address_enc: person.address_enc,
                    Visitor.address_masked: person.address_masked,
                }
            )
        await Visitor.update(values).where(
            (Visitor.tenant_id == tenant_id) & (Visitor.id == existing["id"])
        )
        changed = [
            k for k, v in (("phone", person.phone_enc), ("address", person.address_enc)) if v
        ]
        await audit.append(
            rt,
            tenant_id,
            "visitor.updated",
            target=f"visitor:{existing['id']}",
            detail={"fields": changed},
        )
        row = (
            await Visitor.select(*LIST_COLUMNS)
            .where((Visitor.tenant_id == tenant_id) & (Visitor.id == existing["id"]))
            .output(load_json=True)
            .first()
        )
        assert row is not None
        return visitor_out(row), False
    rows = await Visitor.insert(
        Visitor(
            tenant_id=tenant_id,
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
    await audit.append(rt, tenant_id, "visitor.registered", target=f"visitor:{rows[0]['id']}")
    return visitor_out(rows[0]), True


async def register_visitor(
    rt: Runtime, tenant_id: int, data: VisitorIn
) -> tuple[dict[str, Any], bool]:
    async with tenant_tx(tenant_id):
        return await upsert_visitor(rt, tenant_id, data)


async def list_visitors(
    rt: Runtime,
    tenant_id: int,
    *,
    after: int | None = None,
    limit: int = 50,
    id_number: str | None = None,
    phone: str | None = None,
) -> list[dict[str, Any]]:
    query = Visitor.select(*LIST_COLUMNS).where(Visitor.tenant_id == tenant_id)
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
    async with tenant_tx(tenant_id, write=False):
        rows = await query.order_by(Visitor.id, ascending=False).limit(limit)
    return [visitor_out(r) for r in rows]


async def get_visitor(rt: Runtime, actor: Principal, visitor_id: int) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    async with tenant_tx(tenant_id, write=False):
        row = (
            await Visitor.select(*LIST_COLUMNS)
            .where((Visitor.tenant_id == tenant_id) & (Visitor.id == visitor_id))
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("visitor_not_found", "信访人不存在。")
        cases = list(reversed(await matters_of(actor, visitor_id)))  # chronological
    out = visitor_out(row)
    out["cases"] = cases
    return out
