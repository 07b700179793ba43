"""Case registration (登记): gather the facts (visitor, similar matters, the sector
plugins' view, routing), let ``core.domain.registration`` decide what the matter is,
then write it with its people, exclusions, clocks, events and notifications."""

from __future__ import annotations

import secrets
from typing import Any

from core.db.tables import (
    CaseExclusion,
    CaseParticipant,
    Department,
    PetitionCase,
    ReceptionSession,
    StaffUser,
    Visitor,
)
from core.domain import registration
from core.errors import InvalidInput
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.schemas import CaseIn
from core.services import deadlines, events, petitioner, repeats, sector
from core.services.cases.answers import CaseDetail
from core.services.cases.reading import get_case
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import staff_ref
from core.services.visitors import SealedPerson, upsert_visitor
from core.settings import TIMEZONE
from core.validation import check_received_at

# Crockford base32 without look-alikes: receipt codes are read aloud over the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_receipt_code(rt: Runtime) -> str:
    day = rt.clock.today().strftime("%y%m%d")
    return f"{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


async def _check_refs(scope: Scope, data: CaseIn) -> None:
    if data.department_id is not None and not await scope.exists(Department).where(
        Department.id == data.department_id
    ):
        raise InvalidInput("unknown_department", "承办部门不存在。", field="department_id")
    if data.session_id is not None and not await scope.exists(ReceptionSession).where(
        ReceptionSession.id == data.session_id
    ):
        raise InvalidInput("unknown_session", "接待场次不存在。", field="session_id")


async def _check_accused(scope: Scope, data: CaseIn) -> None:
    if data.accused is None:
        return
    for i, uid in enumerate(data.accused.user_ids):
        if not await scope.exists(StaffUser).where(StaffUser.id == uid):
            raise InvalidInput(
                "unknown_user", "被检举控告的人员不存在。", field=f"accused.user_ids[{i}]"
            )
    for i, did in enumerate(data.accused.department_ids):
        if not await scope.exists(Department).where(Department.id == did):
            raise InvalidInput(
                "unknown_department",
                "被检举控告的部门不存在。",
                field=f"accused.department_ids[{i}]",
            )


async def _department_by_code(scope: Scope, code: str) -> int | None:
    row = await scope.select(Department, Department.id).where(Department.code == code).first()
    return None if row is None else int(row["id"])


def _tenant_int(tenant: TenantInfo, key: str, default: int) -> int:
    value = (tenant.settings or {}).get(key, default)
    return value if isinstance(value, int) and value > 0 else default


async def register_case(scope: Scope, data: CaseIn) -> CaseDetail:
    """登记 by the acting person: validate everything, then write the case, its people,
    flags, exclusions, clocks, events and notifications in one transaction — or nothing.
    What the matter is, is decided by ``core.domain.registration`` from the facts
    gathered here."""
    rt, actor, tenant_id = scope.rt, scope.actor, scope.tenant_id
    tenant = await get_tenant(scope)
    pack = rt.rule_pack(tenant.rule_pack)
    registration.check(data, pack)
    reps = [
        SealedPerson(rt, p, prefix=f"representatives[{i}].")
        for i, p in enumerate(data.representatives)
    ]
    now = rt.clock.now()
    received_at = check_received_at(data.received_at, now)
    async with scope.tx():
        await _check_refs(scope, data)
        await _check_accused(scope, data)
        prepared = await sector.prepare_case(scope, tenant, data)
        visitor_id = await _visitor_of(scope, data)
        shield = await _shield(scope, data, prepared)
        similar = await repeats.find_similar(
            scope,
            visitor_id=visitor_id,
            locality=data.locality,
            category=data.category,
            cause=data.cause,
            pack=pack,
            shield=shield,
        )
        repeats.refuse_if_final(similar.final)
        routing = None
        if data.department_id is None and prepared.department_code:
            code = prepared.department_code
            routing = registration.Routing(code, await _department_by_code(scope, code))
        new = registration.decide(
            data,
            pack,
            registration.Facts(
                now=now,
                repeat=similar.repeat,
                related=similar.related,
                sector_flags=prepared.flags,
                redirect=prepared.redirect,
                routing=routing,
            ),
        )
        flags = new.flags
        code = new_receipt_code(rt)
        while await scope.exists(PetitionCase).where(PetitionCase.receipt_code == code):
            code = new_receipt_code(rt)
        rows = await PetitionCase.insert(
            PetitionCase(
                tenant_id=tenant_id,
                receipt_code=code,
                visitor_id=visitor_id,
                channel=data.channel,
                visit_kind=new.visit_kind,
                headcount=data.headcount,
                is_group=new.is_group,
                category=data.category,
                purpose=data.purpose,
                legal_category=data.legal_category,
                locality=data.locality,
                cause=data.cause,
                demand=data.demand,
                form=await sector.seal_form(scope, tenant, prepared.form),
                status=new.status,
                urgency=prepared.urgency,
                department_id=new.department_id,
                first_department_id=new.department_id,
                session_id=data.session_id,
                registered_by=actor.user_id,
                received_at=received_at,
                closed_at=new.closed_at,
                first_contact_closed=new.first_contact_closed,
                opinion=new.opinion,
                opinion_at=new.opinion_at,
                repeat_of_id=new.repeat_of_id,
                assigned_from_above=data.assigned_from_above,
                flags=flags,
                accused=_accused_json(data, prepared),
                created_at=now,
                updated_at=now,
            )
        ).returning(PetitionCase.id)
        case_id = rows[0]["id"]
        for rep in reps:
            await CaseParticipant.insert(
                CaseParticipant(
                    tenant_id=tenant_id,
                    case_id=case_id,
                    role="representative",
                    name=rep.name,
                    id_number_enc=rep.id_number_enc,
                    id_number_hash=rep.id_number_hash,
                    id_number_masked=rep.id_number_masked,
                    phone_enc=rep.phone_enc,
                    phone_masked=rep.phone_masked,
                )
            )
        await _write_exclusions(scope, case_id, shield, now)
        for m in similar.unnamed:
            # The new matter may not name it; those who may see it learn of the new one.
            await events.record_event(
                scope,
                m.case_id,
                "similar_registered",
                at=now,
                actor_id=actor.user_id,
                data={"case_id": case_id, "receipt_code": code, "score": m.score},
            )
        if new.visit_kind == "repeat":
            veteran = await repeats.update_veteran_flag(
                scope,
                visitor_id,
                now=now,
                window_days=_tenant_int(tenant, "repeat_window_days", pack.repeat_window_days),
                threshold=_tenant_int(tenant, "veteran_threshold", pack.veteran_threshold),
            )
            if veteran:
                flags["veteran"] = True
                await scope.update(PetitionCase, {PetitionCase.flags: flags}).where(
                    PetitionCase.id == case_id
                )
        await events.record_event(
            scope,
            case_id,
            "registered",
            at=now,
            actor_id=actor.user_id,
            to_status="registered",
            data=new.registered,
        )
        received_on = received_at.astimezone(TIMEZONE).date()
        for clock in new.clocks:
            await deadlines.start_clock(
                scope, tenant, case_id, clock, received_on, now=now, department_id=new.department_id
            )
        if new.outcome is not None:
            kind, outcome = new.outcome
            await events.record_event(
                scope,
                case_id,
                kind,
                at=now,
                actor_id=actor.user_id,
                from_status="registered",
                to_status=new.status,
                data=outcome,
            )
        await events.enqueue(
            scope,
            "case.registered",
            dedupe_key=f"case.registered:{case_id}",
            at=now,
            payload={"case_id": case_id, "receipt_code": code},
        )
        told = {"id": case_id, "visitor_id": visitor_id, "receipt_code": code}
        await petitioner.tell(scope, tenant, told, "registered", {}, at=now)
        if new.outcome is not None:
            await petitioner.tell(scope, tenant, told, *new.outcome, at=now)
        case = {
            "id": case_id,
            "receipt_code": code,
            "status": new.status,
            "category": data.category,
        }
        await sector.case_event(scope, tenant, case, "registered", {"flags": flags})
    return await get_case(scope, case_id)


async def _visitor_of(scope: Scope, data: CaseIn) -> int:
    """The visitor's id: registered (or found) from ``visitor``, or the chosen one."""
    if data.visitor is not None:
        visitor, _ = await upsert_visitor(scope, data.visitor)
        return int(visitor["id"])
    visitor_id = data.visitor_id
    if visitor_id is None or not await scope.exists(Visitor).where(Visitor.id == visitor_id):
        raise InvalidInput("unknown_visitor", "所选信访人不存在。", field="visitor_id")
    return visitor_id


def _accused_json(data: CaseIn, prepared: sector.Prepared) -> dict[str, Any]:
    # Names such as 警号 are personal data: kept only as keyed hashes in the exclusions.
    out: dict[str, Any] = {k: v for k, v in prepared.accused.items() if k != "staff_names"}
    if data.accused is not None:
        out["user_ids"] = sorted({*out.get("user_ids", []), *data.accused.user_ids})
        out["department_ids"] = sorted(set(data.accused.department_ids))
        out["description"] = data.accused.description
    return out


async def _shield(scope: Scope, data: CaseIn, prepared: sector.Prepared) -> repeats.Shield:
    """Who is accused in the new case (by account, department or a name such as 警号)."""
    user_ids: set[int] = set(prepared.accused.get("user_ids", []))
    department_ids: set[int] = set()
    for code in prepared.accused.get("department_codes", []):
        dep = await _department_by_code(scope, code)
        if dep is not None:
            department_ids.add(dep)
    if data.accused is not None:
        user_ids.update(data.accused.user_ids)
        department_ids.update(data.accused.department_ids)
    refs = {
        staff_ref(scope.rt.keys, n) for n in prepared.accused.get("staff_names", []) if n.strip()
    }
    return repeats.shield_of(user_ids, department_ids, refs)


async def _write_exclusions(scope: Scope, case_id: int, shield: repeats.Shield, now: Any) -> None:
    rows = [
        CaseExclusion(
            tenant_id=scope.tenant_id,
            case_id=case_id,
            user_id=u,
            department_id=d,
            staff_ref=ref,
            kind="accused",
            created_at=now,
        )
        for u, d, ref in sorted(shield, key=repr)
    ]
    if rows:
        await CaseExclusion.insert(*rows)
