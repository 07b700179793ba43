"""The public's own services (no login): progress lookup by receipt code and the last
four digits of the phone, and online submission (网上信访).

Callers pass the system scope of the tenant named in the path (``Scope.system``) and
the client address (for the abuse limits in :mod:`core.services.public_throttle`).

**Lookup** answers the state and the public milestones of one matter — registered,
accepted or not, transferred (to which organization), in progress, extended, replied
and closed, review, archived — each with its date, and nothing else: no names, notes,
opinions, staff or departments. A wrong code and wrong digits get the same answer
(``progress_not_found``), counted against the code either way.

**Submission** registers through the staff registration service with channel
``online``, acting as the tenant's service account ``online-petition`` (inactive: it
never logs in) and recorded in the audit log as ``online``. What the form says about a
person is unverified, so it never changes a person already on file: the matter is
linked to them (same ID number) as they are, and a phone or address that differs is
kept with the matter as its submitter's contact (a ``CaseParticipant`` of role
``online_contact``, encrypted like every personal number).
"""

from __future__ import annotations

import hmac
import re
from datetime import date, datetime
from typing import Any

from msgspec import Struct

from core.db.tables import CaseParticipant, PetitionCase, Visitor
from core.domain.lifecycle import STATUS_PUBLIC_ZH
from core.errors import Conflict, InvalidInput, NotFound
from core.principal import Principal
from core.schemas import NOTICE_CHANNEL_ZH, CaseIn
from core.services import audit, cases, events, public_throttle, sector, users, visitors
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visitors import SealedPerson
from core.timefmt import shanghai
from core.validation import convert

SERVICE_USERNAME = "online-petition"
SERVICE_NAME = "网上信访（系统）"
ONLINE = audit.Actor("online")
"""The audit log's "who" of an online submission."""
CONTACT_ROLE = "online_contact"
FINAL = "该事项无法通过网上信访受理。如有疑问，请携带身份证件到信访接待场所或来电咨询。"
NOT_FOUND = "没有找到与该回执号和手机号后四位相符的信访事项，请核对后重试。"
_CODE = re.compile(r"\d{6}-[0-9A-Z]{8}")
_CROCKFORD = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


class PublicMilestone(Struct):
    """One step of a matter as its petitioner may see it."""

    kind: str
    """Stable code: ``registered``, ``accepted``, ``not_accepted``, ``transferred``,
    ``transfer_accepted``, ``transfer_returned``, ``transfer_received``,
    ``in_progress``, ``extended``, ``paused``, ``resumed``, ``notified``, ``closed``,
    ``review``, ``review_decided``, ``rereview``, ``final``, ``archived``."""
    on: date
    """The day (Beijing time)."""
    title: str
    """zh-CN, e.g. 「已转送至某某区信访局」."""


class PublicProgress(Struct):
    """What a progress lookup answers: the state and the public milestones only."""

    receipt_code: str
    status: str
    status_zh: str
    category_zh: str
    received_on: date
    milestones: list[PublicMilestone]


class SubmitReceipt(Struct):
    """An online submission registered: the receipt code to look it up with."""

    receipt_code: str
    status: str
    status_zh: str
    notice: str


# --- lookup --------------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """A receipt code as people type it: any case, spaces, look-alike letters."""
    code = re.sub(r"[\s_－—]+", "", text or "").upper().translate(_CROCKFORD)
    if len(code) == 14 and code[6] != "-":
        code = code[:6] + "-" + code[6:]
    return code[:32]


def _last4(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else ""


def _check_digits(text: str) -> str:
    digits = (text or "").strip()
    if not re.fullmatch(r"\d{4}", digits):
        raise InvalidInput(
            "phone_last4_format", "手机号后四位：请输入 4 位数字。", field="phone_last4"
        )
    return digits


async def _phones(scope: Scope, case_id: int, visitor_id: int) -> list[str]:
    keys = scope.rt.keys
    row = await scope.select(Visitor, Visitor.phone_enc).where(Visitor.id == visitor_id).first()
    out = (
        [keys.decrypt(row["phone_enc"], context="visitor.phone")]
        if row and row["phone_enc"]
        else []
    )
    for p in await scope.select(CaseParticipant, CaseParticipant.phone_enc).where(
        (CaseParticipant.case_id == case_id) & (CaseParticipant.role == CONTACT_ROLE)
    ):
        if p["phone_enc"]:
            out.append(keys.decrypt(p["phone_enc"], context="visitor.phone"))
    return out


async def lookup_progress(
    scope: Scope, receipt_code: str, phone_last4: str, *, address: str | None
) -> PublicProgress:
    """The public progress of the matter with this receipt code, if the last four digits
    are those of its petitioner's phone; else ``progress_not_found`` (404), the same for
    either mistake. Rate-limited (429) before anything is read."""
    code = normalize_code(receipt_code)
    if not code:
        raise InvalidInput("receipt_code_required", "请填写回执号。", field="receipt_code")
    digits = _check_digits(phone_last4)
    await public_throttle.lookup_attempt(scope, address, code)
    row = None
    if _CODE.fullmatch(code):
        async with scope.tx(write=False):
            row = (
                await scope.select(
                    PetitionCase,
                    PetitionCase.id,
                    PetitionCase.visitor_id,
                    PetitionCase.status,
                    PetitionCase.category,
                    PetitionCase.received_at,
                    PetitionCase.flags,
                )
                .where(PetitionCase.receipt_code == code)
                .output(load_json=True)
                .first()
            )
            phones = await _phones(scope, row["id"], row["visitor_id"]) if row else []
            history = await events.events_of(scope, row["id"]) if row else []
    matched = row is not None and any(
        hmac.compare_digest(_last4(p), digits) for p in phones if _last4(p)
    )
    if row is None or not matched:
        await public_throttle.lookup_failed(scope, code)
        raise NotFound("progress_not_found", NOT_FOUND)
    tenant = await get_tenant(scope)
    titles = {c.code: c.title_zh for c in await sector.categories(scope, tenant)}
    flags = row["flags"] or {}
    status: str = row["status"]
    category: str = row["category"]
    return PublicProgress(
        receipt_code=code,
        status=status,
        status_zh=STATUS_PUBLIC_ZH.get(status, status),
        category_zh=titles.get(category, category),
        received_on=shanghai(row["received_at"]).date(),
        milestones=[m for e in history if (m := milestone(e, flags)) is not None],
    )


# Event kinds that are public milestones whatever their data: (code, title).
_PLAIN: dict[str, tuple[str, str]] = {
    "registered": ("registered", "已登记，收到您的信访事项"),
    "closed_at_first_contact": ("closed", "已当场答复并办结"),
    "redirected": ("not_accepted", "不予受理，已告知通过其他法定途径解决"),
    "not_accept": ("not_accepted", "不予受理，已告知通过其他法定途径解决"),
    "accept": ("accepted", STATUS_PUBLIC_ZH["accepted"]),
    "accept_transfer": ("accepted", "已接收转送并受理"),
    "object_transfer": ("transfer_returned", "承办单位对转送提出异议，事项已退回重新处理"),
    "transfer_objected": ("transfer_returned", "对方机构未接收转送，事项已退回本机构处理"),
    "approve_assignment": ("in_progress", "已立案交办，正在办理"),
    "start_handling": ("in_progress", "正在办理"),
    "approve_extension": ("extended", "办理期限已依法延长"),
    "pause_clock": ("paused", "办理期限中止（听证、鉴定等）"),
    "resume_clock": ("resumed", "办理期限恢复计算"),
    "approve_report": ("closed", "已办结，出具处理意见"),
    "close": ("closed", "已办结，出具处理意见"),
    "request_review": ("review", "已申请复查"),
    "decide_review": ("review_decided", "复查意见已作出"),
    "request_rereview": ("rereview", "已申请复核"),
    "decide_rereview": ("final", "复核意见已作出，事项终结"),
    "archive": ("archived", "已立卷归档"),
}


def _on(event: dict[str, Any]) -> date:
    at = event["at"]
    return shanghai(at).date() if isinstance(at, datetime | str) else at


def milestone(event: dict[str, Any], flags: dict[str, Any]) -> PublicMilestone | None:
    """The public milestone of one case event, or None for an internal step (notes,
    chases, coordination, reports awaiting approval, recusals…). Organizations are
    named; departments and people never are."""
    kind, data = event["kind"], event.get("data") or {}
    on = _on(event)
    if kind in _PLAIN:
        code, title = _PLAIN[kind]
        return PublicMilestone(kind=code, on=on, title=title)
    if kind == "transfer":
        name = data.get("to_tenant_name")
        if not name:
            return PublicMilestone(kind="in_progress", on=on, title="已交本机构承办部门办理")
        title = f"已转送至{name}"
        if data.get("their_receipt_code"):
            title += f"（对方回执号 {data['their_receipt_code']}，可在对方网站凭此查询）"
        return PublicMilestone(kind="transferred", on=on, title=title)
    if kind == "transfer_accepted":
        name = data.get("by_name") or "对方机构"
        return PublicMilestone(kind="transfer_accepted", on=on, title=f"{name}已接收转送")
    if kind == "transfer_received":
        sender = (flags.get("transferred_from") or {}).get("tenant_name") or "其他机构"
        return PublicMilestone(kind="transfer_received", on=on, title=f"收到{sender}转送")
    if kind == "notify":
        channel = NOTICE_CHANNEL_ZH.get(str(data.get("channel")), "")
        given = data.get("given_on")
        day = date.fromisoformat(given) if isinstance(given, str) else on
        title = f"已书面告知（{channel}）" if channel else "已书面告知"
        return PublicMilestone(kind="notified", on=day, title=title)
    return None


# --- submission ----------------------------------------------------------------------

PERSON_FIELDS = ("visitor.name", "visitor.id_number", "visitor.phone", "visitor.address")
CASE_FIELDS = ("cause", "demand", "category")
FIELDS = frozenset((*PERSON_FIELDS, *CASE_FIELDS))
"""What the public form may set (plus ``form.<field>``); everything else is the
system's: channel, headcount, department, representatives, an answer on the spot…"""


def allowed(name: str) -> bool:
    return name in FIELDS or (name.startswith("form.") and len(name) <= 80)


async def _service_user(scope: Scope) -> Principal:
    return await users.service_account(scope, SERVICE_USERNAME, SERVICE_NAME)


def _required(body: dict[str, Any]) -> None:
    """What the desk may leave out but an online submission may not: who it is (the ID
    number) and how to reach them (the phone, also the key of the progress lookup)."""
    given = body.get("visitor")
    person: dict[str, Any] = given if isinstance(given, dict) else {}
    for key, label in (("name", "姓名"), ("id_number", "身份证号码"), ("phone", "联系电话")):
        if not str(person.get(key) or "").strip():
            raise InvalidInput("missing_field", f"请填写{label}。", field=f"visitor.{key}")


async def submit_online(scope: Scope, body: dict[str, Any]) -> SubmitReceipt:
    """Register an online submission (``body``: the API's case body, only the fields
    :func:`allowed` lets through). The same checks as the desk; on any refusal nothing
    is written. Rate limits are the caller's (:mod:`core.services.public_throttle`)."""
    _required(body)
    fields = {k: v for k, v in body.items() if k in {*CASE_FIELDS, "form", "visitor"}}
    data: CaseIn = convert({**fields, "channel": "online"}, CaseIn, strict=False)
    person = data.visitor
    assert person is not None  # _required
    data.visitor = None  # linked below, never updated from an unverified form
    sealed = SealedPerson(scope.rt, person, prefix="visitor.")  # checks before any write
    with audit.acting(ONLINE):
        async with scope.tx():
            # Inside the transaction: a refused submission leaves no account behind either.
            actor = await _service_user(scope)
            visitor, _created, copy = await visitors.link_visitor(scope, person)
            data.visitor_id = int(visitor["id"])
            try:
                case = await cases.register_case(Scope.of(scope.rt, actor), data)
            except Conflict as exc:
                # The desk's message names the earlier matter's receipt code: never to
                # whoever typed an ID number into a public form.
                raise Conflict(exc.code, FINAL, field="cause") from None
            if copy is not None and (copy.phone or copy.address):
                # The person on file stays as it is; what was typed stays with the matter.
                await CaseParticipant.insert(
                    CaseParticipant(
                        tenant_id=scope.tenant_id,
                        case_id=case.id,
                        role=CONTACT_ROLE,
                        name=sealed.name,
                        id_number_hash=sealed.id_number_hash,
                        id_number_masked=sealed.id_number_masked,
                        phone_enc=sealed.phone_enc,
                        phone_masked=sealed.phone_masked,
                    )
                )
            await audit.append(
                scope.rt,
                scope.tenant_id,
                "case.online_submitted",
                actor_id=actor.user_id,
                target=f"case:{case.id}",
                detail={"contact_differs": list(copy.fields) if copy else []},
            )
    notice = "您的信访事项已提交。请妥善保存回执号，凭回执号和手机号后四位查询办理进度。"
    if case.status == "not_accepted":
        notice = "您反映的事项不属于信访受理范围，请依法通过其他途径解决。"
        for event in case.events:
            if event.kind == "redirected" and (event.data or {}).get("notice"):
                notice = str(event.data["notice"])
    return SubmitReceipt(
        receipt_code=case.receipt_code,
        status=case.status,
        status_zh=STATUS_PUBLIC_ZH.get(case.status, case.status),
        notice=notice,
    )
