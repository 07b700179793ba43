"""Handling (办理) after registration: every step checked against the state machine,
the roles, recusal and the sector plugins, then written with its event, clocks and
notifications in one transaction — or refused with nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import msgspec

from core import links
from core.db.tables import (
    ArchiveVolume,
    CaseDeadline,
    CaseExclusion,
    CaseTransfer,
    Department,
    PetitionCase,
    StaffUser,
    Tenant,
    Visitor,
)
from core.domain import identity, lifecycle
from core.domain.deadlines import compute_deadline
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.schemas import NOTICE_CHANNEL_ZH, OPINION_ZH, REDIRECT_CHANNEL_ZH, ActionIn, VisitorIn
from core.services import deadlines, events, sector
from core.services.cases import get_case, new_receipt_code
from core.services.relations import actor_of, case_facts
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import hidden_from, staff_refs, visible
from core.services.visitors import ContactCopy, adopt_contact, link_visitor
from core.settings import TIMEZONE

CASE_COLUMNS = (
    PetitionCase.id,
    PetitionCase.receipt_code,
    PetitionCase.status,
    PetitionCase.version,
    PetitionCase.visitor_id,
    PetitionCase.department_id,
    PetitionCase.assignee_id,
    PetitionCase.category,
    PetitionCase.channel,
    PetitionCase.headcount,
    PetitionCase.purpose,
    PetitionCase.legal_category,
    PetitionCase.locality,
    PetitionCase.cause,
    PetitionCase.demand,
    PetitionCase.form,
    PetitionCase.flags,
    PetitionCase.received_at,
    PetitionCase.closed_at,
    PetitionCase.opinion,
    PetitionCase.opinion_at,
    PetitionCase.review_level,
    PetitionCase.assigned_from_above,
)
CONTACT_ZH = {"phone": "电话", "address": "地址"}
# The clocks that run while the unit decides: met by an opinion, extended, paused.
DECISION_CLOCKS = ("handle", "handle_assigned", "extension", "review_decide", "rereview_decide")


def _required(value: Any, field: str, what: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        raise InvalidInput("field_required", f"此步骤须填写{what}。", field=field)
    return value


async def _load(scope: Scope, case_id: int) -> dict[str, Any]:
    row = (
        await scope.select(PetitionCase, *CASE_COLUMNS)
        .where(PetitionCase.id == case_id)
        .output(load_json=True)
        .first()
    )
    if row is None or not await visible(scope, case_id):
        raise NotFound("case_not_found", "信访事项不存在。")
    return dict(row)  # ``form`` stays sealed: plugins see masked PII only


async def _excluded(scope: Scope, case_id: int, user_id: int) -> str | None:
    """'accused' / 'recused' when this user may not act on the case."""
    user = (
        await scope.select(StaffUser, StaffUser.department_id, StaffUser.username, StaffUser.title)
        .where(StaffUser.id == user_id)
        .first()
    )
    dept = user["department_id"] if user else None
    refs = staff_refs(scope.rt.keys, user["username"], user["title"]) if user else frozenset()
    rows = await scope.select(
        CaseExclusion,
        CaseExclusion.kind,
        CaseExclusion.user_id,
        CaseExclusion.department_id,
        CaseExclusion.staff_ref,
    ).where(CaseExclusion.case_id == case_id)
    for r in rows:
        if r["user_id"] == user_id:
            return str(r["kind"])
        if r["kind"] == "accused" and (
            (dept is not None and r["department_id"] == dept) or r["staff_ref"] in refs
        ):
            return "accused"
    return None


async def _check_actor_free(scope: Scope, case_id: int) -> None:
    if await _excluded(scope, case_id, scope.actor.user_id):
        raise PermissionDenied(
            "recused", "您已登记回避（或与本事项有利害关系），不能审批或办理此事项。"
        )


async def _check_handler(scope: Scope, case_id: int, user_id: int, field: str) -> None:
    user = (
        await scope.select(StaffUser, StaffUser.roles, StaffUser.active)
        .where(StaffUser.id == user_id)
        .output(load_json=True)
        .first()
    )
    if user is None or not user["active"]:
        raise InvalidInput("unknown_user", "承办人不存在或已停用。", field=field)
    if "handler" not in (user["roles"] or []):
        raise InvalidInput("not_a_handler", "所选人员不是承办人员。", field=field)
    if await _excluded(scope, case_id, user_id):
        raise InvalidInput(
            "recused",
            "所选承办人已登记回避或与本事项有利害关系，不能交其办理。",
            field=field,
        )


async def _check_department(scope: Scope, department_id: int, field: str) -> None:
    if not await scope.exists(Department).where(Department.id == department_id):
        raise InvalidInput("unknown_department", "部门不存在。", field=field)


@asynccontextmanager
async def _as_tenant(other: Scope, back_to: Scope) -> AsyncIterator[Scope]:
    """Act in another tenant inside the same transaction (cross-tenant transfer)."""
    await other.switch()
    try:
        yield other
    finally:
        await back_to.switch()


def _today(rt: Runtime) -> date:
    return rt.clock.now().astimezone(TIMEZONE).date()


async def perform(
    scope: Scope,
    case_id: int,
    action: str,
    data: ActionIn,
    *,
    notice: Notice | None = None,
) -> dict[str, Any]:
    """One handling step by the acting person, all of it in one transaction (joins the
    caller's, if any)."""
    if action == "notify" and notice is None:
        raise InvalidInput(
            "notice_required",
            "登记书面告知请填写告知方式（channel）和告知日期（given_on）。",
            field="channel",
        )
    rt, actor = scope.rt, scope.actor
    tenant = await get_tenant(scope)
    now = rt.clock.now()
    async with scope.tx():
        case = await _load(scope, case_id)
        if data.version is not None and data.version != case["version"]:
            raise Conflict(
                "stale_case",
                "该事项已被他人更新，请刷新后重试。",
                field="version",
                current_version=case["version"],
            )
        step = lifecycle.plan(case["status"], action, actor.roles)
        lifecycle.check_relation(
            action,
            actor_of(actor),
            await case_facts(scope, case),
            named_handler=data.handler_id if action == "start_handling" else None,
        )
        payload = _payload(data) if notice is None else notice.payload()
        await sector.before_transition(scope, tenant, case, action, payload)
        ctx = _Ctx(scope, tenant, case, data, now, step.to_status, notice)
        handler = _HANDLERS[action]
        event_data = await handler(ctx)
        await ctx.save()
        await events.record_event(
            scope,
            case_id,
            action,
            at=now,
            actor_id=actor.user_id,
            from_status=case["status"],
            to_status=ctx.to_status,
            data=event_data,
        )
        case["status"] = ctx.to_status
        await sector.case_event(scope, tenant, case, action, event_data)
    return await get_case(scope, case_id)


def _payload(data: ActionIn) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(data)
    return out


class _Ctx:
    def __init__(
        self,
        scope: Scope,
        tenant: TenantInfo,
        case: dict[str, Any],
        data: ActionIn,
        now: datetime,
        to_status: str,
        notice: Notice | None = None,
    ) -> None:
        self.scope = scope
        self.rt: Runtime = scope.rt
        self.notice = notice
        self.actor = scope.actor
        self.tenant = tenant
        self.case = case
        self.data = data
        self.now = now
        self.to_status = to_status
        self.values: dict[Any, Any] = {}
        self.flags: dict[str, Any] = dict(case["flags"] or {})

    @property
    def tid(self) -> int:
        return self.scope.tenant_id

    @property
    def cid(self) -> int:
        return int(self.case["id"])

    async def save(self) -> None:
        values = {
            **self.values,
            PetitionCase.status: self.to_status,
            PetitionCase.flags: self.flags,
            PetitionCase.version: self.case["version"] + 1,
            PetitionCase.updated_at: self.now,
        }
        updated = (
            await self.scope.update(PetitionCase, values)
            .where((PetitionCase.id == self.cid) & (PetitionCase.version == self.case["version"]))
            .returning(PetitionCase.id)
        )
        if not updated:
            raise Conflict("stale_case", "该事项已被他人同时更新，请刷新后重试。", field="version")

    async def start(self, clock: str, start: date | None = None, **kw: Any) -> dict[str, Any]:
        d = await deadlines.start_clock(
            self.scope,
            self.tenant,
            self.cid,
            clock,
            start or _today(self.rt),
            now=self.now,
            department_id=kw.pop("department_id", self.case["department_id"]),
            user_id=kw.pop("user_id", self.case["assignee_id"]),
            **kw,
        )
        return {"clock": clock, "due": d.due.isoformat(), "provisional": d.provisional}

    async def settle(self, *clocks: str, state: str = "met") -> None:
        await deadlines.settle(self.scope, self.cid, clocks, now=self.now, state=state)

    def handle_clock(self) -> str:
        pack = deadlines.pack_for(self.scope, self.tenant)
        if self.case["assigned_from_above"] and "handle_assigned" in pack.clocks:
            return "handle_assigned"
        return "handle"


@dataclass(frozen=True)
class Notice:
    """书面告知 as given: how, on which day, and (when printed) which document."""

    channel: str
    given_on: date
    note: str = ""
    document: dict[str, Any] | None = None
    """The issued document (e.g. ``{"code": ..., "id": ...}``) when a printed notice."""

    def payload(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "given_on": self.given_on.isoformat(),
            "note": self.note,
            "document": self.document,
        }


async def record_notice(
    scope: Scope,
    case_id: int,
    notice: Notice,
    *,
    version: int | None = None,
) -> dict[str, Any]:
    """Record that the written notice (告知) was given — in person, by post, SMS or
    online, on ``given_on`` — as a ``notify`` event, and meet the ``notify`` clock.

    Issuing a printed notice calls this with ``document`` set, inside its own
    transaction (``tenant_tx`` nests), so the document and the met clock commit
    together."""
    return await perform(scope, case_id, "notify", ActionIn(version=version), notice=notice)


# ---- the steps ------------------------------------------------------------------------


# The notice clock (告知, 15 days) is met only by ``notify`` — a notice actually given —
# never by the decision it reports (accept, not_accept, transfer).


async def _accept(c: _Ctx) -> dict[str, Any]:
    await c.settle("accept")
    clock = await c.start(c.handle_clock())
    return {"note": c.data.note, "deadline": clock}


async def _not_accept(c: _Ctx) -> dict[str, Any]:
    channel = _required(c.data.channel, "channel", "应当告知的途径（诉讼、仲裁、行政复议等）")
    reason = _required(c.data.reason, "reason", "不予受理的理由")
    await c.settle("accept")
    c.values[PetitionCase.opinion_at] = c.now
    notice = (
        f"您反映的事项属于应当通过{REDIRECT_CHANNEL_ZH[channel]}途径解决的事项，"
        f"本机关不予受理，请依法向有关机关提出。理由：{reason}"
    )
    return {"channel": channel, "reason": reason, "notice": notice}


async def _notify(c: _Ctx) -> dict[str, Any]:
    n = c.notice
    assert n is not None  # perform() refuses "notify" without one
    if n.channel not in NOTICE_CHANNEL_ZH:
        raise InvalidInput(
            "invalid_choice",
            f"告知方式只能是：{'、'.join(f'{k}（{v}）' for k, v in NOTICE_CHANNEL_ZH.items())}。",
            field="channel",
        )
    received = c.case["received_at"].astimezone(TIMEZONE).date()
    if n.given_on > _today(c.rt):
        raise InvalidInput(
            "notice_in_future", "告知日期不能晚于今天：请在实际告知后登记。", field="given_on"
        )
    if n.given_on < received:
        raise InvalidInput(
            "notice_before_receipt",
            f"告知日期不能早于收到信访事项的日期（{received.isoformat()}）。",
            field="given_on",
        )
    met_at = c.now
    if n.given_on < _today(c.rt):
        met_at = datetime.combine(n.given_on, time.min, tzinfo=TIMEZONE)
    settled = await deadlines.settle(c.scope, c.cid, ["notify"], now=c.now, met_at=met_at)
    if not settled:
        given = await _earlier_notice(c)
        if given is not None:
            raise Conflict(
                "notice_already_given",
                f"已于 {given['given_on']} 以“{given['channel_zh']}”方式告知信访人，无需重复登记。",
                field="action",
            )
        raise Conflict("no_notice_due", "该事项没有待书面告知的期限。", field="action")
    due = settled[0]["due"]
    return {
        **n.payload(),
        "channel_zh": NOTICE_CHANNEL_ZH[n.channel],
        "due": due.isoformat(),
        "late": n.given_on > due,
    }


async def _earlier_notice(c: _Ctx) -> dict[str, Any] | None:
    for e in reversed(await events.events_of(c.scope, c.cid)):
        if e["kind"] == "notify":
            return dict(e["data"])
    return None


async def _transfer(c: _Ctx) -> dict[str, Any]:
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
        await _check_department(c.scope, d.to_department_id, "to_department_id")
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


async def _transfer_to_tenant(c: _Ctx, slug: str) -> dict[str, Any]:
    target = (
        await Tenant.select(Tenant.id, Tenant.name)
        .where((Tenant.slug == slug) & (Tenant.active.eq(True)))
        .first()
    )
    if target is None or target["id"] == c.tid:
        raise InvalidInput("unknown_tenant", f"没有可转送的机构“{slug}”。", field="to_tenant")
    visitor = await _visitor_plain(c)
    sender_slug = c.tenant.slug
    async with _as_tenant(c.scope.for_tenant(target["id"], slug), c.scope) as theirs:
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
            theirs, receiver, their_case, "objection", _today(c.rt), now=c.now
        )
        # The receiving unit decides and tells the visitor itself (Art 23), 15 days from
        # receiving the transfer; a returned transfer cancels it.
        await deadlines.start_clock(theirs, receiver, their_case, "notify", _today(c.rt), now=c.now)
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


async def _adopt_contact(c: _Ctx) -> dict[str, Any]:
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


async def _visitor_plain(c: _Ctx) -> VisitorIn:
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


async def _pending_transfer(c: _Ctx) -> dict[str, Any]:
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


async def _accept_transfer(c: _Ctx) -> dict[str, Any]:
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


async def _object_transfer(c: _Ctx) -> dict[str, Any]:
    reason = _required(c.data.reason, "reason", "异议理由")
    tr = await _pending_transfer(c)
    today = _today(c.rt)
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
    c: _Ctx, tr: dict[str, Any], outcome: str, sender_status: str | None, extra: dict[str, Any]
) -> None:
    """Mirror the receiver's decision onto the sender's case (the sender's tenant)."""
    sender_id, sender_case = tr["peer_tenant_id"], tr["peer_case_id"]
    sender_slug = ((c.flags.get("transferred_from") or {}).get("tenant")) or ""
    async with _as_tenant(c.scope.for_tenant(sender_id, sender_slug), c.scope) as theirs:
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


async def _assign(c: _Ctx) -> dict[str, Any]:
    handler_id = _required(c.data.handler_id, "handler_id", "承办人")
    plan = _required(c.data.plan, "plan", "调查处理方案")
    await _check_handler(c.scope, c.cid, handler_id, "handler_id")
    if c.data.department_id is not None:
        await _check_department(c.scope, c.data.department_id, "department_id")
    c.flags["assignment"] = {
        "handler_id": handler_id,
        "department_id": c.data.department_id,
        "plan": plan,
        "by": c.actor.user_id,
    }
    return {"handler_id": handler_id, "department_id": c.data.department_id, "plan": plan}


async def _approve_assignment(c: _Ctx) -> dict[str, Any]:
    await _check_actor_free(c.scope, c.cid)
    a = c.flags.pop("assignment", None) or {}
    handler_id = a.get("handler_id")
    if handler_id is not None:
        await _check_handler(c.scope, c.cid, handler_id, "handler_id")
        c.values[PetitionCase.assignee_id] = handler_id
    if a.get("department_id"):
        c.values[PetitionCase.department_id] = a["department_id"]
    await _retarget_clocks(c, handler_id, a.get("department_id"))
    return {"handler_id": handler_id, "comment": c.data.note}


async def _retarget_clocks(c: _Ctx, user_id: int | None, department_id: int | None) -> None:
    values: dict[Any, Any] = {CaseDeadline.updated_at: c.now}
    if user_id is not None:
        values[CaseDeadline.responsible_user_id] = user_id
    if department_id is not None:
        values[CaseDeadline.responsible_department_id] = department_id
    await c.scope.update(CaseDeadline, values).where(
        (CaseDeadline.case_id == c.cid) & (CaseDeadline.state == "open")
    )


async def _reject_assignment(c: _Ctx) -> dict[str, Any]:
    await _check_actor_free(c.scope, c.cid)
    reason = _required(c.data.reason, "reason", "不批准的理由")
    c.flags.pop("assignment", None)
    return {"reason": reason}


async def _start_handling(c: _Ctx) -> dict[str, Any]:
    handler_id = c.data.handler_id
    if handler_id is None and "handler" in c.actor.roles:
        handler_id = c.actor.user_id
    handler_id = _required(handler_id, "handler_id", "承办人")
    await _check_handler(c.scope, c.cid, handler_id, "handler_id")
    c.values[PetitionCase.assignee_id] = handler_id
    await _retarget_clocks(c, handler_id, None)
    return {"handler_id": handler_id}


async def _coordinate(c: _Ctx) -> dict[str, Any]:
    minutes = _required(c.data.minutes, "minutes", "会议纪要")
    present = _required(c.data.department_ids, "department_ids", "参会部门")
    for i, dep in enumerate(present):
        await _check_department(c.scope, dep, f"department_ids[{i}]")
    return {
        "minutes": minutes,
        "department_ids": present,
        "held_on": str(c.data.on or _today(c.rt)),
    }


def _not_paused(c: _Ctx) -> None:
    if c.flags.get("paused"):
        raise Conflict(
            "paused",
            "计时中止期间不能延期：中止的时间本就不计入期限，请先恢复计时。",
            field="action",
        )


async def _request_extension(c: _Ctx) -> dict[str, Any]:
    _not_paused(c)
    pack = deadlines.pack_for(c.scope, c.tenant)
    days = _required(c.data.days, "days", "延长天数")
    reason = _required(c.data.reason, "reason", "延期理由（将告知信访人）")
    if c.flags.get("extension_request"):
        raise Conflict("extension_pending", "已有待批准的延期申请。", field="action")
    if int(c.flags.get("extensions", 0)) >= pack.max_extensions:
        raise Conflict(
            "extension_limit",
            f"依据 {pack.title_zh}，办理期限只能延长 {pack.max_extensions} 次，已延长过。",
            field="action",
        )
    if days > pack.extension_max_days:
        raise InvalidInput(
            "extension_too_long",
            f"延长期限不得超过 {pack.extension_max_days} 日（{pack.clocks['extension'].basis}）。",
            field="days",
        )
    c.flags["extension_request"] = {
        "requested_at": c.now.isoformat(),
        "days": days,
        "reason": reason,
        "requested_by": c.actor.user_id,
    }
    return {"days": days, "reason": reason}


async def _approve_extension(c: _Ctx) -> dict[str, Any]:
    await _check_actor_free(c.scope, c.cid)
    _not_paused(c)
    req = c.flags.pop("extension_request", None)
    if not req:
        raise Conflict("no_extension_request", "没有待批准的延期申请。", field="action")
    current = [
        r for r in await deadlines.open_clocks(c.scope, c.cid) if r["clock"] in DECISION_CLOCKS
    ]
    if not current:
        raise Conflict("no_running_clock", "该事项没有正在计算的办理期限。", field="action")
    old = current[-1]
    await deadlines.settle(c.scope, c.cid, [old["clock"]], now=c.now, state="superseded")
    clock = await c.start("extension", start=old["due"], days=int(req["days"]))
    c.flags["extensions"] = int(c.flags.get("extensions", 0)) + 1
    notice = (
        f"因{req['reason']}，经本机关负责人批准，办理期限延长 {req['days']} 日，至 {clock['due']}。"
    )
    return {
        "days": req["days"],
        "reason": req["reason"],
        "old_due": old["due"].isoformat(),
        "deadline": clock,
        "notice": notice,
    }


async def _reject_extension(c: _Ctx) -> dict[str, Any]:
    await _check_actor_free(c.scope, c.cid)
    if not c.flags.pop("extension_request", None):
        raise Conflict("no_extension_request", "没有待批准的延期申请。", field="action")
    return {"reason": _required(c.data.reason, "reason", "不批准的理由")}


async def _report(c: _Ctx) -> dict[str, Any]:
    # Only the assignee reports (RELATIONS); the reviewer is someone else (FOUR_EYES).
    return {"content": _required(c.data.note, "note", "回告内容（办理情况）")}


async def _close_with_opinion(c: _Ctx) -> dict[str, Any]:
    await _check_actor_free(c.scope, c.cid)
    opinion = _required(c.data.opinion, "opinion", "处理意见（支持/解释说明/不支持）")
    text = _required(c.data.opinion_text, "opinion_text", "处理意见书内容")
    await c.settle(*DECISION_CLOCKS)
    c.flags.pop("paused", None)  # the decision ends a hearing/appraisal pause
    c.values.update(
        {
            PetitionCase.opinion: opinion,
            PetitionCase.opinion_at: c.now,
            PetitionCase.closed_at: c.now,
        }
    )
    return {"opinion": opinion, "opinion_zh": OPINION_ZH[opinion], "opinion_text": text}


async def _return_report(c: _Ctx) -> dict[str, Any]:
    return {"reason": _required(c.data.reason, "reason", "退回重办的理由")}


async def _chase(c: _Ctx) -> dict[str, Any]:
    note = _required(c.data.note, "note", "催办内容")
    if c.case["assignee_id"]:
        await events.enqueue(
            c.scope,
            "case.chased",
            dedupe_key=f"case.chased:{c.cid}:{c.now.isoformat()}",
            at=c.now,
            recipient_id=c.case["assignee_id"],
            payload={
                "title": f"催办：{c.case['receipt_code']}",
                "body": note,
                "link": links.case_url(c.cid),
            },
        )
    return {"note": note}


async def _window(c: _Ctx, clock: str) -> tuple[date, date]:
    """The visitor's request window, counted from the last opinion."""
    opinion_at = c.case["opinion_at"] or c.case["closed_at"]
    if opinion_at is None:
        raise Conflict("no_opinion", "尚未出具处理意见，不能申请复查或复核。", field="action")
    start = opinion_at.astimezone(TIMEZONE).date()
    pack = deadlines.pack_for(c.scope, c.tenant)
    return start, compute_deadline(pack, clock, start, await deadlines.work_calendar()).due


async def _request_review_common(c: _Ctx, level: int, clock: str, name: str) -> dict[str, Any]:
    if c.case["review_level"] != level:
        if level == 0:
            raise Conflict(
                "review_done",
                "该事项已经复查，如不服复查意见请申请复核。",
                field="action",
            )
        raise Conflict(
            "review_first", "须先申请复查，对复查意见不服的才能申请复核。", field="action"
        )
    start, due = await _window(c, clock)
    on = c.data.on or _today(c.rt)
    if on > _today(c.rt) or on < start:
        raise InvalidInput("invalid_date", "申请日期不正确。", field="on")
    if on > due:
        raise Conflict(
            "request_window_closed",
            f"{name}申请期限已于 {due} 届满（收到意见之日起 30 日）。",
            field="on",
            due=due.isoformat(),
        )
    reason = _required(c.data.reason, "reason", f"{name}理由")
    decide = "review_decide" if level == 0 else "rereview_decide"
    clock_out = await c.start(decide, start=on)
    return {"reason": reason, "requested_on": on.isoformat(), "deadline": clock_out}


async def _request_review(c: _Ctx) -> dict[str, Any]:
    return await _request_review_common(c, 0, "review_request", "复查")


async def _request_rereview(c: _Ctx) -> dict[str, Any]:
    return await _request_review_common(c, 1, "rereview_request", "复核")


async def _decide_review(c: _Ctx) -> dict[str, Any]:
    out = await _close_with_opinion(c)
    c.values[PetitionCase.review_level] = 1
    return out


async def _decide_rereview(c: _Ctx) -> dict[str, Any]:
    out = await _close_with_opinion(c)
    c.values[PetitionCase.review_level] = 2
    out["final"] = True
    return out


SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


async def _follow_up(c: _Ctx) -> dict[str, Any]:
    note = _required(c.data.note, "note", "回访情况")
    satisfaction = _required(c.data.satisfaction, "satisfaction", "满意度")
    c.flags["satisfaction"] = satisfaction
    return {
        "note": note,
        "satisfaction": satisfaction,
        "satisfaction_zh": SATISFACTION_ZH[satisfaction],
    }


async def _report_upward(c: _Ctx) -> dict[str, Any]:
    return {"summary": _required(c.data.note, "note", "摘报内容")}


async def _pause(c: _Ctx) -> dict[str, Any]:
    kind = _required(c.data.pause_kind, "pause_kind", "中止原因（听证、鉴定等）")
    if c.flags.get("paused"):
        raise Conflict("already_paused", "计时已中止，请先恢复。", field="action")
    since = c.data.on or _today(c.rt)
    c.flags["paused"] = {"kind": kind, "since": since.isoformat(), "reason": c.data.reason}
    await deadlines.pause(c.scope, c.cid, DECISION_CLOCKS, now=c.now)
    return {"kind": kind, "since": since.isoformat(), "reason": c.data.reason}


async def _resume(c: _Ctx) -> dict[str, Any]:
    paused = c.flags.pop("paused", None)
    if not paused:
        raise Conflict("not_paused", "计时没有中止。", field="action")
    since = date.fromisoformat(paused["since"])
    until = c.data.on or _today(c.rt)
    if until < since:
        raise InvalidInput("invalid_date", "恢复日期不能早于中止日期。", field="on")
    changed = []
    for row in await deadlines.open_clocks(c.scope, c.cid):
        if row["clock"] not in DECISION_CLOCKS:
            continue
        current = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in row["pauses"] or []]
        d = await deadlines.recompute(
            c.scope, c.tenant, row, now=c.now, pauses=[*current, (since, until)]
        )
        changed.append(
            {"clock": row["clock"], "old_due": row["due"].isoformat(), "new_due": d.due.isoformat()}
        )
    return {
        "kind": paused["kind"],
        "paused": [since.isoformat(), until.isoformat()],
        "deadlines": changed,
    }


async def _recuse(c: _Ctx) -> dict[str, Any]:
    user_id = _required(c.data.user_id, "user_id", "回避人员")
    reason = _required(c.data.reason, "reason", "回避理由")
    if not await c.scope.exists(StaffUser).where(StaffUser.id == user_id):
        raise InvalidInput("unknown_user", "人员不存在。", field="user_id")
    await CaseExclusion.insert(
        CaseExclusion(
            tenant_id=c.tid,
            case_id=c.cid,
            user_id=user_id,
            kind="recused",
            reason=reason,
            created_at=c.now,
        )
    )
    return {"user_id": user_id, "reason": reason}


async def _archive(c: _Ctx) -> dict[str, Any]:
    if c.flags.get("paused"):
        raise Conflict("paused", "计时中止中的事项不能归档。", field="action")
    if any(r["clock"] == "notify" for r in await deadlines.open_clocks(c.scope, c.cid)):
        # Archiving would cancel the clock and hide a notice the law requires.
        raise Conflict(
            "notice_not_given",
            "尚未登记对信访人的书面告知：请先登记告知（方式与日期）再归档。",
            field="action",
        )
    when = c.case["closed_at"] or c.case["opinion_at"] or c.now
    year = when.astimezone(TIMEZONE).year
    visitor_id = c.case["visitor_id"]
    vol = (
        await c.scope.select(ArchiveVolume, ArchiveVolume.id, ArchiveVolume.volume_code)
        .where((ArchiveVolume.visitor_id == visitor_id) & (ArchiveVolume.year == year))
        .first()
    )
    if vol is None:
        code = f"{c.tenant.slug}-{year}-{visitor_id:06d}"
        rows = await ArchiveVolume.insert(
            ArchiveVolume(
                tenant_id=c.tid,
                visitor_id=visitor_id,
                year=year,
                volume_code=code,
                created_at=c.now,
            )
        ).returning(ArchiveVolume.id, ArchiveVolume.volume_code)
        vol = rows[0]
    await deadlines.settle(c.scope, c.cid, None, now=c.now, state="cancelled")
    c.values.update({PetitionCase.archive_volume_id: vol["id"], PetitionCase.archived_at: c.now})
    return {"volume": vol["volume_code"], "year": year, "review_level": c.case["review_level"]}


_HANDLERS: dict[str, Any] = {
    "accept": _accept,
    "not_accept": _not_accept,
    "transfer": _transfer,
    "accept_transfer": _accept_transfer,
    "object_transfer": _object_transfer,
    "assign": _assign,
    "approve_assignment": _approve_assignment,
    "reject_assignment": _reject_assignment,
    "start_handling": _start_handling,
    "coordinate": _coordinate,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "reject_extension": _reject_extension,
    "report": _report,
    "approve_report": _close_with_opinion,
    "return_report": _return_report,
    "close": _close_with_opinion,
    "chase": _chase,
    "request_review": _request_review,
    "decide_review": _decide_review,
    "request_rereview": _request_rereview,
    "decide_rereview": _decide_rereview,
    "follow_up": _follow_up,
    "report_upward": _report_upward,
    "pause_clock": _pause,
    "resume_clock": _resume,
    "recuse": _recuse,
    "archive": _archive,
    "notify": _notify,
    "adopt_contact": _adopt_contact,
}
assert set(_HANDLERS) == set(lifecycle.ACTIONS), set(lifecycle.ACTIONS) ^ set(_HANDLERS)


async def archive_of(scope: Scope, visitor_id: int) -> list[dict[str, Any]]:
    """A petitioner's file: volumes per year, matters in chronological order (only the
    matters the acting person may see)."""
    async with scope.tx(write=False):
        if not await scope.exists(Visitor).where(Visitor.id == visitor_id):
            raise NotFound("visitor_not_found", "信访人不存在。")
        vols = (
            await scope.select(
                ArchiveVolume, ArchiveVolume.id, ArchiveVolume.year, ArchiveVolume.volume_code
            )
            .where(ArchiveVolume.visitor_id == visitor_id)
            .order_by(ArchiveVolume.year)
        )
        items = (
            await scope.select(
                PetitionCase,
                PetitionCase.id,
                PetitionCase.receipt_code,
                PetitionCase.category,
                PetitionCase.received_at,
                PetitionCase.closed_at,
                PetitionCase.opinion,
                PetitionCase.review_level,
                PetitionCase.archive_volume_id,
            )
            .where(
                PetitionCase.archive_volume_id.is_in([v["id"] for v in vols] or [0])
                & PetitionCase.id.not_in(hidden_from(scope.actor))
            )
            .order_by(PetitionCase.received_at)
            .order_by(PetitionCase.id)
        )
    by_volume: dict[int, list[dict[str, Any]]] = {v["id"]: [] for v in vols}
    for item in items:
        by_volume[item.pop("archive_volume_id")].append(item)
    # A volume holding only hidden matters would tell the accused they exist.
    return [{**v, "matters": by_volume[v["id"]]} for v in vols if by_volume[v["id"]]]
