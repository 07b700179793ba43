"""Leader reception rota (领导信访接待日): templates, generation, publishing, swaps,
overrides, leave, calendar re-evaluation, reminders and the iCal/JSON feeds.

The pure planning is ``core.domain.rota.expand``; this module loads its inputs, stores
its output as ``rota_slot`` rows and keeps published slots frozen: once published a slot
only changes by a recorded swap, override or calendar import, each of which bumps the
slot's SEQUENCE, updates its reception session and notifies the leaders affected through
the outbox (dedupe keys carry the slot's stable UID key and SEQUENCE, so a change
notifies once, never twice). See docs/rota.md.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from msgspec import Meta, Struct

from core import links
from core.db.engine import get_engine, is_postgres, tenant_tx
from core.db.rota.tables import FeedToken, LeaderLeave, RotaChange, RotaSlot, RotaTemplateRow
from core.db.tables import ReceptionSession, StaffUser, Tenant
from core.domain import rota as dr
from core.domain.ical import CalendarEvent, EventStatus, render_calendar, uid_for
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import Id, OptionalId
from core.services import audit
from core.services.calendar import load_calendar
from core.services.events import enqueue
from core.services.tenants import get_tenant_by_slug
from core.settings import TIMEZONE
from core.validation import check_day, schedule_window

EVE_REMINDER_AT = time(16, 0)
MORNING_REMINDER_AT = time(7, 30)
PUBLIC_PAST_DAYS = 31
_LOCK_CLASS = 60601  # pg_advisory_xact_lock(class, tenant_id): one generator per tenant

Text200 = Annotated[str, Meta(max_length=200)]
HHMM = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Strict(Struct, forbid_unknown_fields=True):
    pass


class SlotIn(Strict):
    half: Literal["am", "pm"]
    start: HHMM
    end: HHMM


class TemplateIn(Strict):
    key: Annotated[str, Meta(min_length=1, max_length=64)]
    title_zh: Annotated[str, Meta(min_length=1, max_length=200)]
    leaders: Annotated[list[Id], Meta(max_length=100)]
    place: Text200 = ""
    role: Annotated[str, Meta(min_length=1, max_length=63)] = "leader_day"
    pattern: Literal["weekly", "every_workday"] = "weekly"
    weekdays: Annotated[list[int], Meta(max_length=7)] = []
    slots: Annotated[list[SlotIn], Meta(max_length=2)] | None = None
    topics: Annotated[list[Text200], Meta(max_length=20)] = []
    standby: Annotated[list[Id], Meta(max_length=100)] = []
    holiday_policy: Literal["skip", "previous_workday", "next_workday", "keep"] = "skip"
    makeup_workdays: bool = False
    leaders_per_slot: Annotated[int, Meta(ge=1, le=20)] = 1
    same_leader_whole_day: bool = True
    horizon_weeks: Annotated[int, Meta(ge=1, le=104)] = 8


class LeaveIn(Strict):
    first_day: date
    last_day: date
    user_id: OptionalId = None
    reason: Text200 = ""


class SwapIn(Strict):
    to_leader_id: Id
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class OverrideIn(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    leader_id: OptionalId = None
    cancel: bool = False


class PublishIn(Strict):
    until: date | None = None


# --- templates ---------------------------------------------------------------------------


def _config(data: TemplateIn) -> dict[str, Any]:
    slots = data.slots or [
        SlotIn(s.half, s.start.strftime("%H:%M"), s.end.strftime("%H:%M"))
        for s in dr.STANDARD_SLOTS
    ]
    return {
        "title_zh": data.title_zh,
        "role": data.role,
        "pattern": data.pattern,
        "weekdays": sorted(set(data.weekdays))
        if len(set(data.weekdays)) == len(data.weekdays)
        # duplicates are refused below with a field
        else list(data.weekdays),
        "slots": [{"half": s.half, "start": s.start, "end": s.end} for s in slots],
        "place": data.place,
        "topics": list(data.topics),
        "leaders": list(data.leaders),
        "standby": list(data.standby),
        "leaders_per_slot": data.leaders_per_slot,
        "same_leader_whole_day": data.same_leader_whole_day,
    }


def domain_template(row: dict[str, Any]) -> dr.RotaTemplate:
    """The domain template of a stored ``rota_template`` row."""
    c = row["config"]
    return dr.RotaTemplate(
        key=row["key"],
        title_zh=c["title_zh"],
        role=c["role"],
        pattern=c["pattern"],
        weekdays=frozenset(c["weekdays"]),
        slots=tuple(
            dr.SlotSpec(s["half"], time.fromisoformat(s["start"]), time.fromisoformat(s["end"]))
            for s in c["slots"]
        ),
        place=c["place"],
        topics=tuple(c["topics"]),
        leaders=tuple(c["leaders"]),
        standby=tuple(c["standby"]),
        holiday_policy=row["holiday_policy"],
        makeup_workdays=row["makeup_workdays"],
        leaders_per_slot=c["leaders_per_slot"],
        same_leader_whole_day=c["same_leader_whole_day"],
    )


def _state(row: dict[str, Any], today: date) -> dr.RotaState:
    s = row.get("state") or {}
    if not s:
        return dr.RotaState(year=today.year)
    return dr.RotaState(
        year=int(s["year"]),
        cursor=int(s.get("cursor", 0)),
        counts={int(k): int(v) for k, v in (s.get("counts") or {}).items()},
    )


def _state_json(state: dr.RotaState) -> dict[str, Any]:
    return {
        "year": state.year,
        "cursor": state.cursor,
        "counts": {str(k): v for k, v in state.counts.items()},
    }


async def _check_leaders(tenant_id: int, ids: Iterable[int], field: str) -> None:
    wanted = set(ids)
    if not wanted:
        return
    rows = (
        await StaffUser.select(StaffUser.id, StaffUser.roles)
        .where((StaffUser.tenant_id == tenant_id) & StaffUser.id.is_in(list(wanted)))
        .where(StaffUser.active.eq(True))
        .output(load_json=True)
    )
    ok = {r["id"] for r in rows if "leader" in (r["roles"] or [])}
    missing = sorted(wanted - ok)
    if missing:
        raise InvalidInput(
            "unknown_leader",
            f"人员 {missing[0]} 不存在、已停用或不是值班领导。",
            field=field,
            user_id=missing[0],
        )


def _template_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "key": row["key"],
        "title_zh": row["title"],
        **{k: v for k, v in row["config"].items() if k != "title_zh"},
        "holiday_policy": row["holiday_policy"],
        "makeup_workdays": row["makeup_workdays"],
        "horizon_weeks": row["horizon_weeks"],
        "state": row["state"] or {},
        "active": row["active"],
    }


async def create_template(rt: Runtime, p: Principal, data: TemplateIn) -> dict[str, Any]:
    """Store a validated rota template for the principal's tenant."""
    if len(set(data.weekdays)) != len(data.weekdays):
        raise InvalidInput("duplicate_weekday", "星期中有重复取值。", field="weekdays")
    config = _config(data)
    probe = {
        "key": data.key,
        "config": config,
        "holiday_policy": data.holiday_policy,
        "makeup_workdays": data.makeup_workdays,
    }
    domain_template(probe).validate()
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        await _check_leaders(p.tenant_id, data.leaders, "leaders")
        await _check_leaders(p.tenant_id, data.standby, "standby")
        if await RotaTemplateRow.exists().where(
            (RotaTemplateRow.tenant_id == p.tenant_id) & (RotaTemplateRow.key == data.key)
        ):
            raise Conflict("rota_key_taken", "排班标识已被使用。", field="key")
        rows = await RotaTemplateRow.insert(
            RotaTemplateRow(
                tenant_id=p.tenant_id,
                key=data.key,
                title=data.title_zh,
                config=config,
                holiday_policy=data.holiday_policy,
                makeup_workdays=data.makeup_workdays,
                horizon_weeks=data.horizon_weeks,
                state={},
                active=True,
                created_at=now,
                updated_at=now,
            )
        ).returning(RotaTemplateRow.id)
        await audit.append(rt, p.tenant_id, "rota.template_created", target=f"rota:{data.key}")
        row = (
            await RotaTemplateRow.select()
            .where(
                (RotaTemplateRow.tenant_id == p.tenant_id) & (RotaTemplateRow.id == rows[0]["id"])
            )
            .output(load_json=True)
            .first()
        )
    assert row is not None
    return _template_out(row)


async def list_templates(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    async with tenant_tx(p.tenant_id, write=False):
        rows = (
            await RotaTemplateRow.select()
            .where(RotaTemplateRow.tenant_id == p.tenant_id)
            .order_by(RotaTemplateRow.id)
            .output(load_json=True)
        )
    return [_template_out(r) for r in rows]


# --- generation --------------------------------------------------------------------------


async def _lock(tenant_id: int) -> None:
    """Serialise generation per tenant (PostgreSQL; SQLite write transactions already are)."""
    if is_postgres():
        await get_engine().run_ddl(f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, {int(tenant_id)})")


async def _leave_map(tenant_id: int, start: date) -> dict[int, list[tuple[date, date]]]:
    rows = await LeaderLeave.select(
        LeaderLeave.user_id, LeaderLeave.first_day, LeaderLeave.last_day
    ).where((LeaderLeave.tenant_id == tenant_id) & (LeaderLeave.last_day >= start))
    out: dict[int, list[tuple[date, date]]] = {}
    for r in rows:
        out.setdefault(r["user_id"], []).append((r["first_day"], r["last_day"]))
    return out


def _slot_row(
    tenant_id: int, template_id: int, role: str, title: str, s: dr.PlannedSlot, now: datetime
) -> RotaSlot:
    return RotaSlot(
        tenant_id=tenant_id,
        template_id=template_id,
        slot_key=s.key,
        uid_key=s.key,
        day=s.day,
        original_day=s.original_day,
        half=s.half,
        position=s.position,
        starts_at=s.start,
        ends_at=s.end,
        place=s.place,
        topics=list(s.topics),
        role=role,
        title=title,
        leader_id=s.leader_id,
        standby_used=s.standby_used,
        provisional=s.provisional,
        status="draft",
        sequence=0,
        note=s.note_zh,
        created_at=now,
        updated_at=now,
    )


_INSERT_COLUMNS = (
    "tenant_id, template_id, slot_key, uid_key, day, original_day, half, position, starts_at,"
    " ends_at, place, topics, role, title, leader_id, standby_used, provisional, status,"
    " sequence, note, created_at, updated_at"
)
_INSERT_SQL = (
    f"INSERT INTO rota_slot ({_INSERT_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8,"
    " $9, $10, $11::jsonb, $12, $13, $14, $15, $16, 'draft', 0, $17, $18, $18)"
)


async def _insert_slots(
    tx: Any,
    tenant_id: int,
    template_id: int,
    tpl: dr.RotaTemplate,
    slots: Sequence[dr.PlannedSlot],
    now: datetime,
) -> None:
    """Bulk insert. PostgreSQL: one prepared statement via executemany (Piccolo builds a
    multi-row statement in Python, ~10x slower for a year of slots; COPY is refused under
    row-level security); SQLite: Piccolo."""
    if is_postgres():
        await tx.connection.executemany(
            _INSERT_SQL,
            [
                (
                    tenant_id,
                    template_id,
                    s.key,
                    s.day,
                    s.original_day,
                    s.half,
                    s.position,
                    s.start,
                    s.end,
                    s.place,
                    json.dumps(list(s.topics), ensure_ascii=False),
                    tpl.role,
                    tpl.title_zh,
                    s.leader_id,
                    s.standby_used,
                    s.provisional,
                    s.note_zh,
                    now,
                )
                for s in slots
            ],
        )
        return
    await RotaSlot.insert(
        *[_slot_row(tenant_id, template_id, tpl.role, tpl.title_zh, s, now) for s in slots]
    )


async def generate(rt: Runtime, tenant_id: int, *, calendar: Any = None) -> dict[str, int]:
    """Create the missing draft slots of every active template up to its horizon.

    Idempotent: stored slot keys are passed as ``existing_keys``, so a second run creates
    nothing and the rotation state does not move. Returns counts (created, unfilled).
    """
    now = rt.clock.now()
    today = now.date()
    cal = calendar or await load_calendar()
    created = unfilled = 0
    async with tenant_tx(tenant_id) as tx:
        await _lock(tenant_id)
        templates = (
            await RotaTemplateRow.select()
            .where((RotaTemplateRow.tenant_id == tenant_id) & RotaTemplateRow.active.eq(True))
            .order_by(RotaTemplateRow.id)
            .output(load_json=True)
        )
        if not templates:
            return {"created": 0, "unfilled": 0}
        leave = await _leave_map(tenant_id, today)
        for row in templates:
            tpl = domain_template(row)
            state = _state(row, today)
            # The domain refuses to plan a year before the carried state's year; slots of
            # an earlier year that are still missing then are left for a person.
            start = max(today, date(state.year, 1, 1))
            end = today + timedelta(weeks=row["horizon_weeks"])
            if end < start:
                continue
            existing = {
                r["slot_key"]
                for r in await RotaSlot.select(RotaSlot.slot_key).where(
                    (RotaSlot.tenant_id == tenant_id)
                    & (RotaSlot.template_id == row["id"])
                    & (RotaSlot.day >= start)
                )
            }
            result = dr.expand(tpl, cal, start, end, state, leave, existing)
            unfilled += len(result.unfilled)
            if result.slots:
                await _insert_slots(tx, tenant_id, row["id"], tpl, result.slots, now)
                created += len(result.slots)
            if result.state != state or not row["state"]:
                await RotaTemplateRow.update(
                    {
                        RotaTemplateRow.state: _state_json(result.state),
                        RotaTemplateRow.updated_at: now,
                    }
                ).where(
                    (RotaTemplateRow.tenant_id == tenant_id) & (RotaTemplateRow.id == row["id"])
                )
    return {"created": created, "unfilled": unfilled}


async def generate_all(rt: Runtime) -> dict[str, int]:
    """Generation for every active tenant (the worker's periodic job)."""
    cal = await load_calendar()
    totals = {"tenants": 0, "created": 0, "unfilled": 0}
    for t in await Tenant.select(Tenant.id).where(Tenant.active.eq(True)).order_by(Tenant.id):
        res = await generate(rt, t["id"], calendar=cal)
        totals["tenants"] += 1
        totals["created"] += res["created"]
        totals["unfilled"] += res["unfilled"]
    return totals


# --- slots, publishing -------------------------------------------------------------------

SLOT_COLUMNS = (
    RotaSlot.id,
    RotaSlot.template_id,
    RotaSlot.slot_key,
    RotaSlot.uid_key,
    RotaSlot.day,
    RotaSlot.original_day,
    RotaSlot.half,
    RotaSlot.position,
    RotaSlot.starts_at,
    RotaSlot.ends_at,
    RotaSlot.place,
    RotaSlot.topics,
    RotaSlot.role,
    RotaSlot.title,
    RotaSlot.leader_id,
    RotaSlot.standby_used,
    RotaSlot.provisional,
    RotaSlot.status,
    RotaSlot.sequence,
    RotaSlot.session_id,
    RotaSlot.note,
    RotaSlot.published_at,
    RotaSlot.updated_at,
)


async def list_slots(
    rt: Runtime,
    p: Principal,
    *,
    start: date | None = None,
    end: date | None = None,
    status: str | None = None,
    leader_id: int | None = None,
) -> list[dict[str, Any]]:
    q = RotaSlot.select(*SLOT_COLUMNS).where(RotaSlot.tenant_id == p.tenant_id)
    if start:
        q = q.where(RotaSlot.day >= start)
    if end:
        q = q.where(RotaSlot.day <= end)
    if status:
        q = q.where(RotaSlot.status == status)
    if leader_id:
        q = q.where(RotaSlot.leader_id == leader_id)
    async with tenant_tx(p.tenant_id, write=False):
        return (
            await q.order_by(RotaSlot.day)
            .order_by(RotaSlot.half)
            .order_by(RotaSlot.template_id)
            .order_by(RotaSlot.position)
            .output(load_json=True)
        )


def _when(slot: dict[str, Any]) -> str:
    return (
        f"{slot['day'].isoformat()} {dr.HALF_ZH.get(slot['half'], '')} "
        f"{slot['starts_at'].strftime('%H:%M')}–{slot['ends_at'].strftime('%H:%M')}"
    )


def _uid_seq(slot: dict[str, Any]) -> str:
    return f"{slot['uid_key']}#{slot['sequence']}"


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


async def publish(rt: Runtime, p: Principal, data: PublishIn) -> dict[str, Any]:
    """Publish the draft slots from today (up to ``until``): they become reception sessions,
    frozen from now on; each leader is told once about their newly published slots."""
    now = rt.clock.now()
    tid = p.tenant_id
    async with tenant_tx(tid):
        await _lock(tid)
        q = RotaSlot.select(*SLOT_COLUMNS).where(
            (RotaSlot.tenant_id == tid)
            & (RotaSlot.status == "draft")
            & (RotaSlot.day >= now.date())
        )
        if data.until:
            q = q.where(RotaSlot.day <= data.until)
        drafts = await q.order_by(RotaSlot.day).output(load_json=True)
        if not drafts:
            return {"published": 0}
        sessions = await ReceptionSession.insert(
            *[
                ReceptionSession(
                    tenant_id=tid,
                    day=s["day"],
                    half=s["half"],
                    starts_at=s["starts_at"],
                    ends_at=s["ends_at"],
                    place=s["place"],
                    topics=s["topics"],
                    kind=s["role"],
                    leader_id=s["leader_id"],
                    status="published",
                    provisional=s["provisional"],
                    slot_key=s["uid_key"],
                    sequence=s["sequence"],
                    note=s["note"],
                    created_at=now,
                    updated_at=now,
                )
                for s in drafts
            ]
        ).returning(ReceptionSession.id, ReceptionSession.slot_key)
        await audit.append(rt, tid, "rota.published", detail={"slots": len(drafts)})
        session_of = {r["slot_key"]: r["id"] for r in sessions}
        for s in drafts:
            await RotaSlot.update(
                {
                    RotaSlot.status: "published",
                    RotaSlot.session_id: session_of[s["uid_key"]],
                    RotaSlot.published_at: now,
                    RotaSlot.updated_at: now,
                }
            ).where((RotaSlot.tenant_id == tid) & (RotaSlot.id == s["id"]))
        by_leader: dict[int, list[dict[str, Any]]] = {}
        for s in drafts:
            if s["leader_id"] is not None:
                by_leader.setdefault(s["leader_id"], []).append(s)
        for leader, slots in by_leader.items():
            lines = [f"{_when(s)}，{s['title']}，地点：{s['place'] or '待定'}" for s in slots]
            if any(s["provisional"] for s in slots):
                lines.append("标注“临时”的日期所在年度工作日历尚未导入，日期可能调整。")
            await enqueue(
                tid,
                "rota.published",
                dedupe_key=(f"rota.published:{leader}:{_digest(_uid_seq(s) for s in slots)}"),
                at=now,
                payload={
                    "title": f"接访排班已发布（{len(slots)} 个时段）",
                    "body": "\n".join(lines),
                    "link": links.MY_ROTA,
                },
                recipient_id=leader,
                channel="inbox",
            )
    return {"published": len(drafts)}


async def _slot_for_update(tenant_id: int, slot_id: int) -> dict[str, Any]:
    row = (
        await RotaSlot.select(*SLOT_COLUMNS)
        .where((RotaSlot.tenant_id == tenant_id) & (RotaSlot.id == slot_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("slot_not_found", "排班时段不存在。")
    return row


async def _change_slot(
    rt: Runtime,
    tenant_id: int,
    slot: dict[str, Any],
    *,
    why: str,
    leader_id: int | None = None,
    cancel: bool = False,
    move_to: dr.PlannedSlot | None = None,
    confirm: bool = False,
) -> dict[str, Any]:
    """Apply one change to a slot row (and its reception session); published slots get
    SEQUENCE + 1 and notify the old and new leader (once per SEQUENCE)."""
    now = rt.clock.now()
    published = slot["status"] == "published"
    seq = slot["sequence"] + (1 if published else 0)
    values: dict[Any, Any] = {RotaSlot.updated_at: now, RotaSlot.sequence: seq}
    session: dict[Any, Any] = {ReceptionSession.updated_at: now, ReceptionSession.sequence: seq}
    new = dict(slot, sequence=seq)
    if leader_id is not None:
        values[RotaSlot.leader_id] = leader_id
        values[RotaSlot.standby_used] = False
        session[ReceptionSession.leader_id] = leader_id
        new["leader_id"] = leader_id
    if cancel:
        values[RotaSlot.status] = "cancelled"
        session[ReceptionSession.status] = "cancelled"
        new["status"] = "cancelled"
    if move_to is not None:
        values.update(
            {
                RotaSlot.day: move_to.day,
                RotaSlot.slot_key: move_to.key,
                RotaSlot.original_day: move_to.original_day,
                RotaSlot.note: move_to.note_zh,
                RotaSlot.provisional: move_to.provisional,
            }
        )
        session.update(
            {
                ReceptionSession.day: move_to.day,
                ReceptionSession.note: move_to.note_zh,
                ReceptionSession.provisional: move_to.provisional,
            }
        )
        new["day"] = move_to.day
    if confirm:
        values[RotaSlot.provisional] = False
        session[ReceptionSession.provisional] = False
    await RotaSlot.update(values).where(
        (RotaSlot.tenant_id == tenant_id) & (RotaSlot.id == slot["id"])
    )
    if slot["session_id"] is not None:
        await ReceptionSession.update(session).where(
            (ReceptionSession.tenant_id == tenant_id) & (ReceptionSession.id == slot["session_id"])
        )
    if published and not confirm:
        if cancel:
            title, body = "接访排班已取消", f"{_when(slot)} 的{slot['title']}已取消。原因：{why}"
        elif move_to is not None:
            title = "接访排班日期调整"
            body = f"{slot['title']}由 {_when(slot)} 调整为 {_when(new)}。原因：{why}"
        else:
            title = "接访排班人员调整"
            body = f"{_when(slot)} 的{slot['title']}接待领导已调整。原因：{why}"
        recipients = {slot["leader_id"], new["leader_id"]} - {None}
        for user in sorted(recipients):
            await enqueue(
                tenant_id,
                "rota.changed",
                dedupe_key=f"rota.changed:{slot['uid_key']}:{seq}:{user}",
                at=now,
                payload={"title": title, "body": body, "link": None},
                recipient_id=user,
                channel="inbox",
            )
    return new


def _change_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in row}


async def request_swap(rt: Runtime, p: Principal, slot_id: int, data: SwapIn) -> dict[str, Any]:
    """A leader asks to hand a published slot of theirs to another leader."""
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        slot = await _slot_for_update(p.tenant_id, slot_id)
        if slot["leader_id"] != p.user_id:
            raise PermissionDenied("not_your_slot", "只能为本人的接访时段申请调换。")
        if slot["status"] != "published":
            raise Conflict("slot_not_published", "只有已发布的接访时段才需申请调换。")
        if data.to_leader_id == p.user_id:
            raise InvalidInput("swap_with_self", "不能与本人调换。", field="to_leader_id")
        await _check_leaders(p.tenant_id, [data.to_leader_id], "to_leader_id")
        if await RotaChange.exists().where(
            (RotaChange.tenant_id == p.tenant_id)
            & (RotaChange.slot_id == slot_id)
            & (RotaChange.status == "requested")
        ):
            raise Conflict("swap_pending", "该时段已有待审批的调换申请。")
        rows = await RotaChange.insert(
            RotaChange(
                tenant_id=p.tenant_id,
                slot_id=slot_id,
                kind="swap",
                status="requested",
                from_leader_id=p.user_id,
                to_leader_id=data.to_leader_id,
                reason=data.reason,
                requested_by=p.user_id,
                data={"sequence": slot["sequence"]},
                created_at=now,
            )
        ).returning(RotaChange.id)
        await audit.append(rt, p.tenant_id, "rota.swap_requested", target=f"slot:{slot_id}")
        row = (
            await RotaChange.select()
            .where((RotaChange.tenant_id == p.tenant_id) & (RotaChange.id == rows[0]["id"]))
            .output(load_json=True)
            .first()
        )
    assert row is not None
    return row


async def decide_swap(
    rt: Runtime, p: Principal, change_id: int, *, approve: bool
) -> dict[str, Any]:
    """An admin approves (the slot changes hands, SEQUENCE + 1) or rejects a swap."""
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        change = (
            await RotaChange.select()
            .where((RotaChange.tenant_id == p.tenant_id) & (RotaChange.id == change_id))
            .output(load_json=True)
            .first()
        )
        if change is None or change["kind"] != "swap":
            raise NotFound("change_not_found", "调换申请不存在。")
        if change["status"] != "requested":
            raise Conflict("change_already_decided", "该调换申请已处理。")
        slot = await _slot_for_update(p.tenant_id, change["slot_id"])
        if approve:
            if slot["status"] != "published" or slot["leader_id"] != change["from_leader_id"]:
                raise Conflict("slot_changed_since_request", "该时段在申请后已变更，请重新申请。")
            await _check_leaders(p.tenant_id, [change["to_leader_id"]], "to_leader_id")
            new = await _change_slot(
                rt,
                p.tenant_id,
                slot,
                why=f"调换：{change['reason']}",
                leader_id=change["to_leader_id"],
            )
            data = {**(change["data"] or {}), "sequence": new["sequence"]}
        else:
            data = change["data"] or {}
        status = "approved" if approve else "rejected"
        await RotaChange.update(
            {
                RotaChange.status: status,
                RotaChange.decided_by: p.user_id,
                RotaChange.decided_at: now,
                RotaChange.data: data,
            }
        ).where((RotaChange.tenant_id == p.tenant_id) & (RotaChange.id == change_id))
        await audit.append(
            rt, p.tenant_id, f"rota.swap_{status}", target=f"slot:{change['slot_id']}"
        )
    return {**change, "status": status, "decided_by": p.user_id, "data": data}


async def override(rt: Runtime, p: Principal, slot_id: int, data: OverrideIn) -> dict[str, Any]:
    """An admin reassigns or cancels a slot directly; recorded with who, when and why."""
    if data.cancel == (data.leader_id is not None):
        raise InvalidInput(
            "override_needs_one_action",
            "请指定新的接待领导或取消该时段（二选一）。",
            field="leader_id",
        )
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        slot = await _slot_for_update(p.tenant_id, slot_id)
        if slot["status"] == "cancelled":
            raise Conflict("slot_cancelled", "该时段已取消。")
        if data.leader_id is not None:
            await _check_leaders(p.tenant_id, [data.leader_id], "leader_id")
        new = await _change_slot(
            rt,
            p.tenant_id,
            slot,
            why=data.reason,
            leader_id=data.leader_id,
            cancel=data.cancel,
        )
        await RotaChange.insert(
            RotaChange(
                tenant_id=p.tenant_id,
                slot_id=slot_id,
                kind="override",
                status="applied",
                from_leader_id=slot["leader_id"],
                to_leader_id=None if data.cancel else data.leader_id,
                reason=data.reason,
                requested_by=p.user_id,
                decided_by=p.user_id,
                data={"cancel": data.cancel, "sequence": new["sequence"]},
                created_at=now,
                decided_at=now,
            )
        )
        await audit.append(
            rt,
            p.tenant_id,
            "rota.override",
            target=f"slot:{slot_id}",
            detail={"cancel": data.cancel, "leader_id": data.leader_id},
        )
    return new


async def list_changes(
    rt: Runtime, p: Principal, *, status: str | None = None
) -> list[dict[str, Any]]:
    q = RotaChange.select().where(RotaChange.tenant_id == p.tenant_id)
    if status:
        q = q.where(RotaChange.status == status)
    async with tenant_tx(p.tenant_id, write=False):
        return await q.order_by(RotaChange.id).output(load_json=True)


# --- leave -------------------------------------------------------------------------------


async def add_leave(rt: Runtime, p: Principal, data: LeaveIn) -> dict[str, Any]:
    """Record a leader's leave. Draft slots of theirs in the range go to a free standby (or
    another rotation leader); published ones are listed as ``conflicts`` (swap/override)."""
    user_id = data.user_id or p.user_id
    if user_id != p.user_id and not p.has_any("admin", "supervisor"):
        raise PermissionDenied("leave_for_others", "只有管理员可以为他人登记请假。")
    first, last = schedule_window(rt.clock.today())
    check_day(data.first_day, first, last, field="first_day", what="请假开始日期")
    check_day(data.last_day, first, last, field="last_day", what="请假结束日期")
    if data.last_day < data.first_day:
        raise InvalidInput(
            "leave_range_reversed", "请假结束日期不能早于开始日期。", field="last_day"
        )
    now = rt.clock.now()
    tid = p.tenant_id
    reassigned: list[int] = []
    conflicts: list[int] = []
    async with tenant_tx(tid):
        await _lock(tid)
        await _check_leaders(tid, [user_id], "user_id")
        rows = await LeaderLeave.insert(
            LeaderLeave(
                tenant_id=tid,
                user_id=user_id,
                first_day=data.first_day,
                last_day=data.last_day,
                reason=data.reason,
                created_by=p.user_id,
                created_at=now,
            )
        ).returning(LeaderLeave.id)
        await audit.append(rt, tid, "rota.leave_added", target=f"user:{user_id}")
        leave = await _leave_map(tid, data.first_day)
        affected = (
            await RotaSlot.select(*SLOT_COLUMNS)
            .where(
                (RotaSlot.tenant_id == tid)
                & (RotaSlot.leader_id == user_id)
                & (RotaSlot.day >= data.first_day)
                & (RotaSlot.day <= data.last_day)
                & (RotaSlot.status != "cancelled")
            )
            .order_by(RotaSlot.day)
            .output(load_json=True)
        )
        templates = {
            r["id"]: domain_template(r)
            for r in await RotaTemplateRow.select()
            .where(RotaTemplateRow.tenant_id == tid)
            .output(load_json=True)
        }
        for slot in affected:
            if slot["status"] == "published":
                conflicts.append(slot["id"])
                continue
            tpl = templates.get(slot["template_id"])
            stand_in = _stand_in(tpl, slot["day"], leave) if tpl else None
            if stand_in is None:
                conflicts.append(slot["id"])
                continue
            await RotaSlot.update(
                {
                    RotaSlot.leader_id: stand_in[0],
                    RotaSlot.standby_used: stand_in[1],
                    RotaSlot.note: "；".join(
                        x for x in (slot["note"], "原定领导请假，由备班人员接待") if x
                    ),
                    RotaSlot.updated_at: now,
                }
            ).where((RotaSlot.tenant_id == tid) & (RotaSlot.id == slot["id"]))
            await RotaChange.insert(
                RotaChange(
                    tenant_id=tid,
                    slot_id=slot["id"],
                    kind="leave",
                    status="applied",
                    from_leader_id=user_id,
                    to_leader_id=stand_in[0],
                    reason=data.reason or "请假",
                    requested_by=p.user_id,
                    decided_by=p.user_id,
                    created_at=now,
                    decided_at=now,
                )
            )
            reassigned.append(slot["id"])
    return {
        "id": rows[0]["id"],
        "user_id": user_id,
        "first_day": data.first_day,
        "last_day": data.last_day,
        "reassigned": reassigned,
        "conflicts": conflicts,
    }


def _stand_in(
    tpl: dr.RotaTemplate, day: date, leave: dict[int, list[tuple[date, date]]]
) -> tuple[int, bool] | None:
    off = {pid for pid, ranges in leave.items() if any(a <= day <= b for a, b in ranges)}
    for pid in tpl.standby:
        if pid not in off:
            return pid, True
    return None


async def list_leave(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    async with tenant_tx(p.tenant_id, write=False):
        return (
            await LeaderLeave.select()
            .where(LeaderLeave.tenant_id == p.tenant_id)
            .order_by(LeaderLeave.first_day)
        )


# --- calendar import ---------------------------------------------------------------------


async def reevaluate_provisional(rt: Runtime, year: int) -> int:
    """Re-plan the provisional slots of ``year`` for every tenant now that the year's
    official calendar is known. A slot whose day stays a slot day is confirmed; one whose
    day became a rest day moves per the rota's holiday policy or is cancelled (drafts are
    deleted). Published slots that move or cancel get SEQUENCE + 1 and notify their
    leader. Returns the number of slots moved, cancelled or deleted."""
    cal = await load_calendar()
    changed = 0
    for t in await Tenant.select(Tenant.id).order_by(Tenant.id):
        changed += await _reevaluate_tenant(rt, t["id"], year, cal)
    return changed


async def _reevaluate_tenant(rt: Runtime, tid: int, year: int, cal: Any) -> int:
    changed = 0
    first, last = date(year, 1, 1), date(year, 12, 31)
    async with tenant_tx(tid):
        await _lock(tid)
        slots = (
            await RotaSlot.select(*SLOT_COLUMNS)
            .where(
                (RotaSlot.tenant_id == tid)
                & RotaSlot.provisional.eq(True)
                & (RotaSlot.day >= first)
                & (RotaSlot.day <= last)
                & (RotaSlot.status != "cancelled")
            )
            .order_by(RotaSlot.day)
            .output(load_json=True)
        )
        if not slots:
            return 0
        templates = {
            r["id"]: r
            for r in await RotaTemplateRow.select()
            .where(RotaTemplateRow.tenant_id == tid)
            .output(load_json=True)
        }
        taken = {
            r["slot_key"]
            for r in await RotaSlot.select(RotaSlot.slot_key).where(
                (RotaSlot.tenant_id == tid) & (RotaSlot.day >= first) & (RotaSlot.day <= last)
            )
        }
        plans: dict[
            int, tuple[dict[str, dr.PlannedSlot], dict[tuple[date, str, int], dr.PlannedSlot]]
        ] = {}
        for slot in slots:
            row = templates.get(slot["template_id"])
            if row is None:
                continue
            if row["id"] not in plans:
                # Only which days carry slots matters here, not who is assigned.
                res = dr.expand(domain_template(row), cal, first, last, dr.RotaState(year=year))
                plans[row["id"]] = (
                    {s.key: s for s in res.slots},
                    {(s.original_day, s.half, s.position): s for s in res.slots if s.original_day},
                )
            by_key, by_origin = plans[row["id"]]
            planned = by_key.get(slot["slot_key"])
            if planned is not None and planned.original_day is None:
                await _change_slot(rt, tid, slot, why="工作日历已导入", confirm=True)
                continue
            origin = slot["original_day"] or slot["day"]
            target = by_origin.get((origin, slot["half"], slot["position"]))
            if target is not None and target.key not in taken:
                taken.discard(slot["slot_key"])
                taken.add(target.key)
                await _change_slot(
                    rt, tid, slot, why=f"{year} 年工作日历已导入：{target.note_zh}", move_to=target
                )
            elif slot["status"] == "draft":
                await RotaSlot.delete().where(
                    (RotaSlot.tenant_id == tid) & (RotaSlot.id == slot["id"])
                )
            else:
                await _change_slot(
                    rt,
                    tid,
                    slot,
                    why=f"{year} 年工作日历已导入，{cal.describe(slot['day'])}不安排接待",
                    cancel=True,
                )
            changed += 1
            await RotaChange.insert(
                RotaChange(
                    tenant_id=tid,
                    slot_id=slot["id"],
                    kind="calendar",
                    status="applied",
                    from_leader_id=slot["leader_id"],
                    to_leader_id=slot["leader_id"],
                    reason=f"{year} 年工作日历导入",
                    data={"from_day": slot["day"].isoformat()},
                    created_at=rt.clock.now(),
                    decided_at=rt.clock.now(),
                )
            )
    await generate(rt, tid, calendar=cal)
    return changed


# --- reminders ---------------------------------------------------------------------------


async def write_reminders(rt: Runtime, tenant_id: int) -> int:
    """Queue the reminders due now: the evening before (from 16:00) and the morning of
    (from 07:30) each published slot, until it starts. Keyed by UID, SEQUENCE and kind,
    so re-running writes nothing new and a changed slot reminds its new leader once."""
    now = rt.clock.now()
    today = now.date()
    due = 0
    async with tenant_tx(tenant_id):
        slots = (
            await RotaSlot.select(*SLOT_COLUMNS)
            .where(
                (RotaSlot.tenant_id == tenant_id)
                & (RotaSlot.status == "published")
                & (RotaSlot.day >= today)
                & (RotaSlot.day <= today + timedelta(days=1))
            )
            .output(load_json=True)
        )
        for s in slots:
            if s["leader_id"] is None:
                continue
            starts = datetime.combine(s["day"], s["starts_at"], tzinfo=TIMEZONE)
            eve = datetime.combine(s["day"] - timedelta(days=1), EVE_REMINDER_AT, tzinfo=TIMEZONE)
            morning = datetime.combine(s["day"], MORNING_REMINDER_AT, tzinfo=TIMEZONE)
            if eve <= now < morning:
                kind, title = "eve", "明日接访提醒"
            elif morning <= now < starts:
                kind, title = "morning", "今日接访提醒"
            else:
                continue
            body = f"{_when(s)}，{s['title']}，地点：{s['place'] or '待定'}"
            if s["topics"]:
                body += f"，主题：{'、'.join(s['topics'])}"
            await enqueue(
                tenant_id,
                "rota.reminder",
                dedupe_key=f"rota.remind:{s['uid_key']}:{s['sequence']}:{kind}",
                at=now,
                payload={"title": title, "body": body, "link": None},
                recipient_id=s["leader_id"],
                channel="inbox",
            )
            due += 1
    return due


async def write_reminders_all(rt: Runtime) -> int:
    total = 0
    for t in await Tenant.select(Tenant.id).where(Tenant.active.eq(True)).order_by(Tenant.id):
        total += await write_reminders(rt, t["id"])
    return total


# --- feeds -------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_path(slug: str, token: str) -> str:
    return f"/t/{slug}/leaders/{token}.ics"


async def create_feed_token(rt: Runtime, p: Principal) -> dict[str, Any]:
    """A new private iCal feed URL for the calling leader (shown once)."""
    if not p.has_any("leader"):
        raise PermissionDenied("leader_only", "只有值班领导可以订阅本人的接访日历。")
    token = secrets.token_urlsafe(24)
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        rows = await FeedToken.insert(
            FeedToken(
                tenant_id=p.tenant_id,
                user_id=p.user_id,
                token_hash=_hash_token(token),
                prefix=token[:8],
                created_at=now,
            )
        ).returning(FeedToken.id)
        await audit.append(rt, p.tenant_id, "token.created", target=f"feed_token:{rows[0]['id']}")
    path = feed_path(p.tenant_slug, token)
    return {"id": rows[0]["id"], "url": links.absolute(rt.settings.base_url, path), "path": path}


async def revoke_feed_tokens(rt: Runtime, p: Principal) -> dict[str, int]:
    now = rt.clock.now()
    async with tenant_tx(p.tenant_id):
        rows = (
            await FeedToken.update({FeedToken.revoked_at: now})
            .where(
                (FeedToken.tenant_id == p.tenant_id)
                & (FeedToken.user_id == p.user_id)
                & FeedToken.revoked_at.is_null()
            )
            .returning(FeedToken.id)
        )
        for row in rows:
            await audit.append(rt, p.tenant_id, "token.revoked", target=f"feed_token:{row['id']}")
    return {"revoked": len(rows)}


def _uid_domain(rt: Runtime, tenant_id: int) -> str:
    host = (urlsplit(rt.settings.base_url).hostname or "").lower() or "xinfang.invalid"
    return f"t{tenant_id}.{host}"


async def _names(tenant_id: int, ids: set[int]) -> dict[int, dict[str, str]]:
    if not ids:
        return {}
    rows = await StaffUser.select(StaffUser.id, StaffUser.display_name, StaffUser.title).where(
        (StaffUser.tenant_id == tenant_id) & StaffUser.id.is_in(sorted(ids))
    )
    return {r["id"]: {"name": r["display_name"], "title": r["title"]} for r in rows}


async def _public_slots(tenant_id: int, since: date) -> list[dict[str, Any]]:
    return (
        await RotaSlot.select(*SLOT_COLUMNS)
        .where(
            (RotaSlot.tenant_id == tenant_id)
            & RotaSlot.published_at.is_not_null()
            & (RotaSlot.day >= since)
        )
        .order_by(RotaSlot.day)
        .order_by(RotaSlot.starts_at)
        .output(load_json=True)
    )


async def public_schedule(rt: Runtime, slug: str) -> dict[str, Any]:
    """The published schedule of a tenant (public page data): who, when, where, topics."""
    tenant = await get_tenant_by_slug(rt, slug)
    today = rt.clock.today()
    async with tenant_tx(tenant.id, write=False):
        rows = [r for r in await _public_slots(tenant.id, today) if r["status"] == "published"]
        names = await _names(tenant.id, {r["leader_id"] for r in rows if r["leader_id"]})
    return {
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "timezone": str(TIMEZONE),
        "slots": [
            {
                "day": r["day"].isoformat(),
                "half": r["half"],
                "start": r["starts_at"].strftime("%H:%M"),
                "end": r["ends_at"].strftime("%H:%M"),
                "title": r["title"],
                "role": r["role"],
                "place": r["place"],
                "topics": r["topics"],
                "leader": names.get(r["leader_id"] or 0, {"name": "待定", "title": ""}),
                "provisional": r["provisional"],
                "note": r["note"],
            }
            for r in rows
        ],
    }


def _event(
    r: dict[str, Any], domain: str, summary: str, status: EventStatus | None = None
) -> CalendarEvent:
    desc = []
    if r["topics"]:
        desc.append(f"接访主题：{'、'.join(r['topics'])}")
    if r["note"]:
        desc.append(r["note"])
    return CalendarEvent(
        uid=uid_for(r["uid_key"], domain),
        day=r["day"],
        start=r["starts_at"],
        end=r["ends_at"],
        summary=summary,
        location=r["place"],
        description="\n".join(desc),
        sequence=r["sequence"],
        status=status or ("CANCELLED" if r["status"] == "cancelled" else "CONFIRMED"),
        last_modified=r["updated_at"],
        provisional=r["provisional"],
    )


async def public_ics(rt: Runtime, slug: str) -> bytes:
    """The tenant's public iCal feed: published slots, and withdrawn ones as CANCELLED."""
    tenant = await get_tenant_by_slug(rt, slug)
    since = rt.clock.today() - timedelta(days=PUBLIC_PAST_DAYS)
    domain = _uid_domain(rt, tenant.id)
    async with tenant_tx(tenant.id, write=False):
        rows = await _public_slots(tenant.id, since)
        names = await _names(tenant.id, {r["leader_id"] for r in rows if r["leader_id"]})
    events = [
        _event(
            r, domain, f"{r['title']}：{names.get(r['leader_id'] or 0, {'name': '待定'})['name']}"
        )
        for r in rows
    ]
    return render_calendar(events, name=f"{tenant.name} 接访排班", now=rt.clock.now())


async def leader_ics(rt: Runtime, slug: str, token: str) -> bytes:
    """A leader's private feed: their published slots; slots handed to someone else (swap,
    override) stay as CANCELLED so the leader's calendar drops them."""
    tenant = await get_tenant_by_slug(rt, slug)
    since = rt.clock.today() - timedelta(days=PUBLIC_PAST_DAYS)
    domain = _uid_domain(rt, tenant.id)
    async with tenant_tx(tenant.id, write=False):
        found = (
            await FeedToken.select(FeedToken.user_id)
            .where(
                (FeedToken.tenant_id == tenant.id)
                & (FeedToken.token_hash == _hash_token(token))
                & FeedToken.revoked_at.is_null()
            )
            .first()
        )
        # A deactivated leader's feed stops answering too (and resumes on reactivation).
        if found is None or not await StaffUser.exists().where(
            (StaffUser.tenant_id == tenant.id)
            & (StaffUser.id == found["user_id"])
            & StaffUser.active.eq(True)
        ):
            raise NotFound("feed_not_found", "日历订阅地址无效或已撤销。")
        user = found["user_id"]
        rows = await _public_slots(tenant.id, since)
        former = {
            r["slot_id"]
            for r in await RotaChange.select(RotaChange.slot_id).where(
                (RotaChange.tenant_id == tenant.id)
                & (RotaChange.from_leader_id == user)
                & RotaChange.status.is_in(["approved", "applied"])
            )
        }
    events = []
    for r in rows:
        if r["leader_id"] == user:
            events.append(_event(r, domain, r["title"]))
        elif r["id"] in former:
            events.append(_event(r, domain, r["title"], status="CANCELLED"))
    return render_calendar(events, name=f"{tenant.name} 我的接访", now=rt.clock.now())


async def install_demo_rota(
    rt: Runtime, tenant_id: int, tenant_slug: str, admin_id: int, leader_ids: list[int]
) -> dict[str, Any]:
    """Demo data: every Monday the leaders rotate (holiday → next working day), generated
    for the horizon and published, so the public schedule and feeds have content."""
    admin = Principal(
        tenant_id=tenant_id,
        tenant_slug=tenant_slug,
        user_id=admin_id,
        username="admin",
        display_name="admin",
        roles=frozenset({"admin"}),
    )
    await create_template(
        rt,
        admin,
        TemplateIn(
            key="monday_leader_day",
            title_zh="领导信访接待日",
            leaders=leader_ids,
            place="一楼信访接待室",
            weekdays=[0],
            holiday_policy="next_workday",
        ),
    )
    made = await generate(rt, tenant_id)
    return {**made, **await publish(rt, admin, PublishIn())}
