"""Case registration (登记) and reading. The lifecycle after registration lives in
``core.services.lifecycle``."""

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
from core.domain.lifecycle import STATUS_ZH, allowed_actions
from core.errors import InvalidInput, NotFound
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.schemas import CHANNEL_ZH, CaseIn
from core.services import deadlines, events, repeats, sector
from core.services.relations import actor_of, case_facts
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import hidden_from, matters_of, staff_ref, visible
from core.services.visitors import LIST_COLUMNS as VISITOR_COLUMNS
from core.services.visitors import (
    SealedPerson,
    transfer_contact_of,
    upsert_visitor,
    visitor_out,
)
from core.settings import TIMEZONE
from core.validation import check_received_at

# Crockford base32 without look-alikes: receipt codes are read aloud over the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

LIST_COLUMNS = (
    PetitionCase.id,
    PetitionCase.receipt_code,
    PetitionCase.channel,
    PetitionCase.visit_kind,
    PetitionCase.headcount,
    PetitionCase.is_group,
    PetitionCase.category,
    PetitionCase.purpose,
    PetitionCase.legal_category,
    PetitionCase.locality,
    PetitionCase.status,
    PetitionCase.urgency,
    PetitionCase.department_id,
    PetitionCase.visitor_id,
    PetitionCase.received_at,
    PetitionCase.closed_at,
    PetitionCase.first_contact_closed,
)


def new_receipt_code(rt: Runtime) -> str:
    day = rt.clock.today().strftime("%y%m%d")
    return f"{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def case_out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in row if not k.startswith("visitor.")}
    out["channel_zh"] = CHANNEL_ZH.get(row["channel"], row["channel"])
    return out


async def _check_refs(scope: Scope, data: CaseIn) -> None:
    if data.department_id is not None and not await scope.exists(Department).where(
        Department.id == data.department_id
    ):
        raise InvalidInput("unknown_department", "承办部门不存在。", field="department_id")
    if data.session_id is not None and not await scope.exists(ReceptionSession).where(
        ReceptionSession.id == data.session_id
    ):
        raise InvalidInput("unknown_session", "接待场次不存在。", field="session_id")


def check_group(rt: Runtime, rule_pack: str, data: CaseIn) -> bool:
    """集体访: headcount at or above the pack's threshold must name its representatives."""
    pack = rt.rule_pack(rule_pack)
    is_group = data.headcount >= pack.group_visit_min_headcount
    if not is_group:
        return False
    limit = pack.representative_limit(data.headcount)
    if not data.representatives:
        raise InvalidInput(
            "representatives_required",
            f"{data.headcount} 人来访属于集体访（{pack.group_visit_min_headcount} 人及以上），"
            f"请登记推选的代表（不超过 {limit} 人）。",
            field="representatives",
        )
    if len(data.representatives) > limit:
        raise InvalidInput(
            "too_many_representatives",
            f"集体访推选代表不得超过 {limit} 人（依据 {pack.name} {pack.title_zh}），"
            f"当前登记了 {len(data.representatives)} 人。",
            field="representatives",
            limit=limit,
            pack=pack.name,
        )
    return True


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


async def register_case(scope: Scope, data: CaseIn) -> dict[str, Any]:
    """登记 by the acting person: validate everything, then write the case, its people,
    flags, exclusions, clocks, events and notifications in one transaction — or nothing."""
    rt, actor, tenant_id = scope.rt, scope.actor, scope.tenant_id
    if (data.visitor is None) == (data.visitor_id is None):
        raise InvalidInput(
            "visitor_required",
            "请填写信访人信息（visitor）或选择已有信访人（visitor_id），二选一。",
            field="visitor",
        )
    if data.legal_category == "accusation" and data.accused is None:
        raise InvalidInput(
            "accused_required",
            "检举控告类事项须登记被检举控告的人员或部门（accused），以便对其回避保密。",
            field="accused",
        )
    tenant = await get_tenant(scope)
    pack = rt.rule_pack(tenant.rule_pack)
    is_group = check_group(rt, tenant.rule_pack, data)
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
        if data.visitor is not None:
            visitor, _ = await upsert_visitor(scope, data.visitor)
        else:
            row = (
                await scope.select(Visitor, *VISITOR_COLUMNS)
                .where(Visitor.id == data.visitor_id)
                .output(load_json=True)
                .first()
            )
            if row is None:
                raise InvalidInput("unknown_visitor", "所选信访人不存在。", field="visitor_id")
            visitor = visitor_out(row)
        shield = await _shield(scope, data, prepared)
        similar = await repeats.find_similar(
            scope,
            visitor_id=visitor["id"],
            locality=data.locality,
            category=data.category,
            cause=data.cause,
            pack=pack,
            shield=shield,
        )
        repeats.refuse_if_final(similar.final)
        match = similar.repeat
        flags: dict[str, Any] = dict(prepared.flags)
        visit_kind = "first"
        if match is not None:
            visit_kind = "repeat"
            flags["repeat"] = {
                "of": match.receipt_code,
                "case_id": match.case_id,
                "score": match.score,
            }
        if similar.related:
            # 同一事项 of other people: shown to the clerk, never refused or counted.
            flags["related"] = [
                {"of": m.receipt_code, "case_id": m.case_id, "score": m.score}
                for m in similar.related
            ]
        if data.skip_level:
            flags["skip_level"] = True
        department_id = data.department_id
        if department_id is None and prepared.department_code:
            department_id = await _department_by_code(scope, prepared.department_code)
            if department_id is None:
                flags["routing_unresolved"] = prepared.department_code
        status = "registered"
        first_contact = bool(data.answered_on_spot.strip())
        if prepared.redirect is not None:
            status = "not_accepted"
        elif first_contact:
            status = "closed"
        code = new_receipt_code(rt)
        while await scope.exists(PetitionCase).where(PetitionCase.receipt_code == code):
            code = new_receipt_code(rt)
        rows = await PetitionCase.insert(
            PetitionCase(
                tenant_id=tenant_id,
                receipt_code=code,
                visitor_id=visitor["id"],
                channel=data.channel,
                visit_kind=visit_kind,
                headcount=data.headcount,
                is_group=is_group,
                category=data.category,
                purpose=data.purpose,
                legal_category=data.legal_category,
                locality=data.locality,
                cause=data.cause,
                demand=data.demand,
                form=await sector.seal_form(scope, tenant, prepared.form),
                status=status,
                urgency=prepared.urgency,
                department_id=department_id,
                first_department_id=department_id,
                session_id=data.session_id,
                registered_by=actor.user_id,
                received_at=received_at,
                closed_at=now if status == "closed" else None,
                first_contact_closed=status == "closed",
                opinion="explain" if status == "closed" else "",
                opinion_at=now if status in ("closed", "not_accepted") else None,
                repeat_of_id=match.case_id if match else None,
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
        if visit_kind == "repeat":
            veteran = await repeats.update_veteran_flag(
                scope,
                visitor["id"],
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
            data={
                "channel": data.channel,
                "headcount": data.headcount,
                "visit_kind": visit_kind,
                **({"repeat_of": match.receipt_code} if match else {}),
            },
        )
        received_on = received_at.astimezone(TIMEZONE).date()
        if status == "registered":
            for clock in ("accept", "notify"):
                await deadlines.start_clock(
                    scope, tenant, case_id, clock, received_on, now=now, department_id=department_id
                )
        elif status == "closed":
            await events.record_event(
                scope,
                case_id,
                "closed_at_first_contact",
                at=now,
                actor_id=actor.user_id,
                from_status="registered",
                to_status="closed",
                data={"opinion": "explain", "answer": data.answered_on_spot},
            )
        else:
            assert prepared.redirect is not None
            await events.record_event(
                scope,
                case_id,
                "redirected",
                at=now,
                actor_id=actor.user_id,
                from_status="registered",
                to_status="not_accepted",
                data=dict(prepared.redirect),
            )
        await events.enqueue(
            scope,
            "case.registered",
            dedupe_key=f"case.registered:{case_id}",
            at=now,
            payload={"case_id": case_id, "receipt_code": code},
        )
        case = {"id": case_id, "receipt_code": code, "status": status, "category": data.category}
        await sector.case_event(scope, tenant, case, "registered", {"flags": flags})
    return await get_case(scope, case_id)


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


async def list_cases(
    scope: Scope,
    *,
    after: int | None = None,
    limit: int = 50,
    status: str | None = None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated on (tenant_id, id) — never OFFSET; only the cases
    the acting person may see."""
    query = scope.select(
        PetitionCase,
        *LIST_COLUMNS,
        PetitionCase.visitor_id.name,
        PetitionCase.visitor_id.id_number_masked,
        PetitionCase.visitor_id.phone_masked,
    )
    query = query.where(PetitionCase.id.not_in(hidden_from(scope.actor)))
    if status:
        query = query.where(PetitionCase.status == status)
    if after is not None:
        query = query.where(PetitionCase.id < after)
    async with scope.tx(write=False):
        rows = (
            await query.order_by(PetitionCase.id, ascending=False)
            .limit(limit + 1)
            .output(load_json=True)
        )
    items = []
    for row in rows[:limit]:
        item = case_out(row)
        item["visitor"] = {
            "id": row["visitor_id"],
            "name": row["visitor_id.name"],
            "id_number": row["visitor_id.id_number_masked"] or None,
            "phone": row["visitor_id.phone_masked"] or None,
        }
        items.append(item)
    next_after = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_after": next_after}


async def get_case(scope: Scope, case_id: int) -> dict[str, Any]:
    """The case as the acting person may see it (404 when hidden from them)."""
    actor = scope.actor
    async with scope.tx(write=False):
        row = (
            await scope.select(
                PetitionCase,
                *LIST_COLUMNS,
                PetitionCase.cause,
                PetitionCase.demand,
                PetitionCase.form,
                PetitionCase.flags,
                PetitionCase.opinion,
                PetitionCase.session_id,
                PetitionCase.first_department_id,
                PetitionCase.repeat_of_id,
                PetitionCase.assigned_from_above,
                PetitionCase.review_level,
                PetitionCase.opinion_at,
                PetitionCase.archive_volume_id,
                PetitionCase.archived_at,
                PetitionCase.assignee_id,
                PetitionCase.version,
            )
            .where(PetitionCase.id == case_id)
            .output(load_json=True)
            .first()
        )
        if row is None or not await visible(scope, case_id):
            raise NotFound("case_not_found", "信访事项不存在。")
        visitor = (
            await scope.select(Visitor, *VISITOR_COLUMNS)
            .where(Visitor.id == row["visitor_id"])
            .output(load_json=True)
            .first()
        )
        reps = await scope.select(
            CaseParticipant,
            CaseParticipant.name,
            CaseParticipant.role,
            CaseParticipant.id_number_masked,
            CaseParticipant.phone_masked,
        ).where(CaseParticipant.case_id == case_id)
        history = await events.events_of(scope, case_id)
        earlier = await matters_of(scope, row["visitor_id"], exclude=case_id, limit=20)
        clocks = await deadlines.open_clocks(scope, case_id)
        facts = await case_facts(scope, {**row, "id": case_id}, history=history)
        contact_copy = await transfer_contact_of(scope, case_id, row["flags"])
    row = {**row, "form": await sector.reveal_form(scope, case_id, row.get("form"))}
    out = case_out(row)
    out["visitor"] = visitor_out(visitor) if visitor else None
    out["representatives"] = [
        {
            "name": r["name"],
            "role": r["role"],
            "id_number": r["id_number_masked"] or None,
            "phone": r["phone_masked"] or None,
        }
        for r in reps
    ]
    out["events"] = history
    out["transfer_contact"] = contact_copy
    out["earlier_matters"] = earlier
    out["deadlines"] = [deadlines.deadline_out(c) for c in clocks]
    out["status_zh"] = STATUS_ZH.get(row["status"], row["status"])
    out["allowed_actions"] = allowed_actions(
        row["status"], actor.roles, actor=actor_of(actor), case=facts
    )
    return out
