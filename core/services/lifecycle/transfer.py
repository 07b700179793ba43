"""转送: to another department of the unit or to another unit (tenant), with the
receiver's case, clocks and a sealed copy of contact details it may adopt; the
receiver accepts or objects within its window, and the sender's case follows."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.db.tables import CaseTransfer, PetitionCase, Tenant, Visitor
from core.domain import identity
from core.errors import Conflict, InvalidInput
from core.runtime import Runtime
from core.schemas import VisitorIn
from core.services import deadlines, events
from core.services.cases import new_receipt_code
from core.services.lifecycle.context import (
    Ctx,
    Step,
    as_tenant,
    check_department,
    local_today,
    required,
)
from core.services.tenants import get_tenant
from core.services.visitors import ContactCopy, adopt_contact, link_visitor

CONTACT_ZH = {"phone": "电话", "address": "地址"}


async def _transfer(c: Ctx) -> dict[str, Any]:
    d = c.data
    if (d.to_department_id is None) == (d.to_tenant is None):
        raise InvalidInput(
            "transfer_target_required",
            "请选择转送的部门（to_department_id）或机构（to_tenant），二选一。",
            field="to_department_id",
        )
    await c.settle("accept")
    c.flags["transfer_return_status"] = c.case["status"]
    if d.to_department_id is not None:
        await check_department(c.scope, d.to_department_id, "to_department_id")
        if d.to_department_id == c.case["department_id"]:
            raise InvalidInput(
                "transfer_to_self", "不能转送给当前承办部门本身。", field="to_department_id"
            )
        clock = await c.start("objection", department_id=d.to_department_id, user_id=None)
        await CaseTransfer.insert(
            CaseTransfer(
                tenant_id=c.tid,
                case_id=c.cid,
                direction="internal",
                peer_tenant_id=c.tid,
                peer_case_id=c.cid,
                from_department_id=c.case["department_id"],
                to_department_id=d.to_department_id,
                status="pending",
                note=d.note,
                objection_due=date.fromisoformat(clock["due"]),
                created_by=c.actor.user_id,
                created_at=c.now,
            )
        )
        c.values[PetitionCase.department_id] = d.to_department_id
        return {"to_department_id": d.to_department_id, "note": d.note, "deadline": clock}
    return await _transfer_to_tenant(c, str(d.to_tenant))


async def _transfer_to_tenant(c: Ctx, slug: str) -> dict[str, Any]:
    target = (
        await Tenant.select(Tenant.id, Tenant.name)
        .where((Tenant.slug == slug) & (Tenant.active.eq(True)))
        .first()
    )
    if target is None or target["id"] == c.tid:
        raise InvalidInput("unknown_tenant", f"没有可转送的机构“{slug}”。", field="to_tenant")
    visitor = await _visitor_plain(c)
    sender_slug = c.tenant.slug
    async with as_tenant(c.scope.for_tenant(target["id"], slug), c.scope) as theirs:
        # Read inside the switch: on PostgreSQL the receiver's plugin rows are only
        # visible under its own tenant id.
        receiver = await get_tenant(theirs)
        # The receiver's person record is the receiver's: link it as it is; what the
        # sender knows differently travels as a copy for the receiver to review.
        their_visitor, _, copy = await link_visitor(theirs, visitor)
        code = new_receipt_code(c.rt)
        rows = await PetitionCase.insert(
            PetitionCase(
                tenant_id=receiver.id,
                receipt_code=code,
                visitor_id=their_visitor["id"],
                channel=c.case["channel"],
                visit_kind="first",
                headcount=c.case["headcount"],
                category=c.case["category"],
                purpose=c.case["purpose"],
                legal_category=c.case["legal_category"],
                locality=c.case["locality"],
                cause=c.case["cause"],
                demand=c.case["demand"],
                form={},
                status="transferring",
                received_at=c.case["received_at"],
                flags={
                    "transferred_from": {
                        "tenant": sender_slug,
                        "tenant_name": c.tenant.name,
                        "receipt_code": c.case["receipt_code"],
                    }
                },
                accused={},
                created_at=c.now,
                updated_at=c.now,
            )
        ).returning(PetitionCase.id)
        their_case = rows[0]["id"]
        d = await deadlines.start_clock(
            theirs, receiver, their_case, "objection", local_today(c.rt), now=c.now
        )
        # The receiving unit decides and tells the visitor itself (Art 23), 15 days from
        # receiving the transfer; a returned transfer cancels it.
        await deadlines.start_clock(
            theirs, receiver, their_case, "notify", local_today(c.rt), now=c.now
        )
        await CaseTransfer.insert(
            CaseTransfer(
                tenant_id=receiver.id,
                case_id=their_case,
                direction="in",
                peer_tenant_id=c.tid,
                peer_case_id=c.cid,
                status="pending",
                note=c.data.note,
                objection_due=d.due,
                created_at=c.now,
                **_sealed_copy(c.rt, copy),
            )
        )
        await events.record_event(
            theirs,
            their_case,
            "transfer_received",
            at=c.now,
            to_status="transferring",
            data={
                "from": sender_slug,
                "receipt_code": c.case["receipt_code"],
                "note": c.data.note,
                "contact_copy": list(copy.fields) if copy else [],
            },
        )
    await CaseTransfer.insert(
        CaseTransfer(
            tenant_id=c.tid,
            case_id=c.cid,
            direction="out",
            peer_tenant_id=receiver.id,
            peer_case_id=their_case,
            status="pending",
            note=c.data.note,
            objection_due=d.due,
            created_by=c.actor.user_id,
            created_at=c.now,
        )
    )
    return {
        "to_tenant": slug,
        "to_tenant_name": receiver.name,
        "their_receipt_code": code,
        "objection_due": d.due.isoformat(),
        "note": c.data.note,
    }


def _sealed_copy(rt: Runtime, copy: ContactCopy | None) -> dict[str, Any]:
    """CaseTransfer columns holding the copy: encrypted, with masked forms for display."""
    if copy is None:
        return {}
    keys = rt.keys
    out: dict[str, Any] = {"contact_state": "pending"}
    if copy.phone:
        out["phone_enc"] = keys.encrypt(copy.phone, context="case_transfer.phone")
        out["phone_masked"] = identity.mask_phone(copy.phone)
    if copy.address:
        out["address_enc"] = keys.encrypt(copy.address, context="case_transfer.address")
        out["address_masked"] = identity.mask_address(copy.address)
    return out


async def _adopt_contact(c: Ctx) -> dict[str, Any]:
    """The receiver's own step: put the transferred copy into its person record."""
    row = (
        await c.scope.select(
            CaseTransfer,
            CaseTransfer.id,
            CaseTransfer.phone_enc,
            CaseTransfer.address_enc,
        )
        .where(
            (CaseTransfer.case_id == c.cid)
            & (CaseTransfer.direction == "in")
            & (CaseTransfer.contact_state == "pending")
        )
        .order_by(CaseTransfer.id, ascending=False)
        .first()
    )
    if row is None:
        raise Conflict(
            "no_contact_copy",
            "该事项没有待采用的转来联系方式（没有转来的副本，或已经采用）。",
            field="action",
        )
    keys = c.rt.keys
    phone = (
        keys.decrypt(row["phone_enc"], context="case_transfer.phone") if row["phone_enc"] else None
    )
    address = (
        keys.decrypt(row["address_enc"], context="case_transfer.address")
        if row["address_enc"]
        else None
    )
    offered = [f for f, v in (("phone", phone), ("address", address)) if v]
    fields = list(dict.fromkeys(c.data.fields)) or offered
    extra = [f for f in fields if f not in offered]
    if extra:
        raise InvalidInput(
            "not_in_copy",
            f"转来的副本中没有可采用的{'、'.join(CONTACT_ZH[f] for f in extra)}；"
            f"可采用：{'、'.join(CONTACT_ZH[f] for f in offered)}。",
            field="fields",
        )
    visitor_id = c.case["visitor_id"]
    await adopt_contact(c.scope, visitor_id, fields, phone=phone, address=address)
    await c.scope.update(
        CaseTransfer,
        {
            CaseTransfer.contact_state: "adopted",
            CaseTransfer.contact_decided_at: c.now,
            CaseTransfer.contact_decided_by: c.actor.user_id,
        },
    ).where(CaseTransfer.id == row["id"])
    source = (c.flags.get("transferred_from") or {}).get("tenant")
    # Field names only: the event log holds no personal data (docs/security.md).
    return {"fields": fields, "visitor_id": visitor_id, "from": source}


async def _visitor_plain(c: Ctx) -> VisitorIn:
    row = (
        await c.scope.select(
            Visitor, Visitor.name, Visitor.id_number_enc, Visitor.phone_enc, Visitor.address_enc
        )
        .where(Visitor.id == c.case["visitor_id"])
        .first()
    )
    assert row is not None
    keys = c.rt.keys

    def dec(value: str | None, ctx: str) -> str | None:
        return keys.decrypt(value, context=ctx) if value else None

    return VisitorIn(
        name=row["name"],
        id_number=dec(row["id_number_enc"], "visitor.id_number"),
        phone=dec(row["phone_enc"], "visitor.phone"),
        address=dec(row["address_enc"], "visitor.address"),
    )


async def _pending_transfer(c: Ctx) -> dict[str, Any]:
    row = (
        await c.scope.select(CaseTransfer)
        .where(
            (CaseTransfer.case_id == c.cid)
            & (CaseTransfer.status == "pending")
            & (CaseTransfer.direction != "out")
        )
        .order_by(CaseTransfer.id, ascending=False)
        .first()
    )
    if row is None:
        raise Conflict("no_pending_transfer", "该事项没有待接收的转送。", field="action")
    return dict(row)


async def _accept_transfer(c: Ctx) -> dict[str, Any]:
    tr = await _pending_transfer(c)
    await c.settle("objection")
    await c.scope.update(
        CaseTransfer, {CaseTransfer.status: "accepted", CaseTransfer.decided_at: c.now}
    ).where(CaseTransfer.id == tr["id"])
    c.flags.pop("transfer_return_status", None)
    if tr["direction"] == "in":
        await _tell_sender(c, tr, "accepted", "transferred", {})
    clock = await c.start(c.handle_clock())
    return {"deadline": clock}


async def _object_transfer(c: Ctx) -> dict[str, Any]:
    reason = required(c.data.reason, "reason", "异议理由")
    tr = await _pending_transfer(c)
    today = local_today(c.rt)
    if tr["objection_due"] is not None and today > tr["objection_due"]:
        raise Conflict(
            "objection_window_closed",
            f"异议期限已于 {tr['objection_due']} 届满（5 个工作日），不能再退回，请接收办理。",
            field="action",
        )
    await c.settle("objection")
    await c.scope.update(
        CaseTransfer,
        {
            CaseTransfer.status: "objected",
            CaseTransfer.reason: reason,
            CaseTransfer.decided_at: c.now,
        },
    ).where(CaseTransfer.id == tr["id"])
    if tr["direction"] == "in":
        c.to_status = "returned"
        await c.settle("notify", state="cancelled")  # the sender tells the visitor again
        await _tell_sender(c, tr, "objected", None, {"reason": reason})
    else:
        c.to_status = c.flags.pop("transfer_return_status", "registered")
        c.values[PetitionCase.department_id] = tr["from_department_id"]
    return {"reason": reason}


async def _tell_sender(
    c: Ctx, tr: dict[str, Any], outcome: str, sender_status: str | None, extra: dict[str, Any]
) -> None:
    """Mirror the receiver's decision onto the sender's case (the sender's tenant)."""
    sender_id, sender_case = tr["peer_tenant_id"], tr["peer_case_id"]
    sender_slug = ((c.flags.get("transferred_from") or {}).get("tenant")) or ""
    async with as_tenant(c.scope.for_tenant(sender_id, sender_slug), c.scope) as theirs:
        row = (
            await theirs.select(PetitionCase, PetitionCase.status, PetitionCase.flags)
            .where(PetitionCase.id == sender_case)
            .output(load_json=True)
            .first()
        )
        if row is None:
            return
        flags = dict(row["flags"] or {})
        back = flags.pop("transfer_return_status", "registered")
        new_status = sender_status or back
        await theirs.update(
            PetitionCase,
            {
                PetitionCase.status: new_status,
                PetitionCase.flags: flags,
                PetitionCase.updated_at: c.now,
                PetitionCase.version: PetitionCase.version + 1,
                **({PetitionCase.closed_at: c.now} if new_status == "transferred" else {}),
            },
        ).where(PetitionCase.id == sender_case)
        await theirs.update(
            CaseTransfer,
            {
                CaseTransfer.status: outcome,
                CaseTransfer.decided_at: c.now,
                **({CaseTransfer.reason: extra["reason"]} if "reason" in extra else {}),
            },
        ).where((CaseTransfer.case_id == sender_case) & (CaseTransfer.status == "pending"))
        await events.record_event(
            theirs,
            sender_case,
            f"transfer_{outcome}",
            at=c.now,
            from_status=row["status"],
            to_status=new_status,
            data={"by": c.tenant.slug, "by_name": c.tenant.name, **extra},
        )


STEPS: dict[str, Step] = {
    "transfer": _transfer,
    "accept_transfer": _accept_transfer,
    "object_transfer": _object_transfer,
    "adopt_contact": _adopt_contact,
}
