"""Deadline reminders: approaching / due today / overdue (催办) / escalated (督办), transfers
waiting for acceptance, pending extension requests, the monthly screening sheet, digests.
Rows of the lead's lifecycle tables are inserted directly (that is the contract)."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.notify.tables import InboxMessage, Reminder
from core.db.tables import CaseDeadline, CaseTransfer, Outbox, PetitionCase, Visitor
from core.services.calendar import load_calendar
from core.settings import TIMEZONE
from daemon.notify.jobs import run_deliver, run_tick
from daemon.notify.tick import tick_tenant

pytestmark = pytest.mark.asyncio


def at(d: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(d), time(hour, minute), tzinfo=TIMEZONE)


async def make_case(
    tenant_id: int, *, flags: dict[str, Any] | None = None, now: datetime | None = None
) -> tuple[int, str]:
    now = now or at("2026-09-01")
    code = f"XF{secrets.token_hex(5).upper()}"
    async with tenant_tx(tenant_id):
        v = await Visitor.insert(
            Visitor(tenant_id=tenant_id, name="某某", name_hash="h", created_at=now, updated_at=now)
        ).returning(Visitor.id)
        c = await PetitionCase.insert(
            PetitionCase(
                tenant_id=tenant_id,
                receipt_code=code,
                visitor_id=v[0]["id"],
                channel="visit",
                cause="事由",
                flags=flags or {},
                received_at=now,
                created_at=now,
                updated_at=now,
            )
        ).returning(PetitionCase.id)
    return c[0]["id"], code


async def add_deadline(
    tenant_id: int,
    case_id: int,
    due: str,
    *,
    clock: str = "handle",
    user: int | None = None,
    dept: int | None = None,
    now: datetime | None = None,
    state: str = "open",
) -> int:
    now = now or at("2026-09-01")
    async with tenant_tx(tenant_id):
        rows = await CaseDeadline.insert(
            CaseDeadline(
                tenant_id=tenant_id,
                case_id=case_id,
                clock=clock,
                started_on=date(2026, 8, 1),
                due=date.fromisoformat(due),
                days=60,
                mode="calendar",
                pack="cn-2022",
                pack_version="1",
                state=state,
                responsible_user_id=user,
                responsible_department_id=dept,
                created_at=now,
                updated_at=now,
            )
        ).returning(CaseDeadline.id)
    return rows[0]["id"]


async def reminders(tenant_id: int) -> list[dict[str, Any]]:
    async with tenant_tx(tenant_id, write=False):
        return await Reminder.select().where(Reminder.tenant_id == tenant_id).order_by(Reminder.id)


async def inbox(tenant_id: int, user_id: int | None = None) -> list[dict[str, Any]]:
    async with tenant_tx(tenant_id, write=False):
        q = InboxMessage.select().where(InboxMessage.tenant_id == tenant_id)
        if user_id is not None:
            q = q.where(InboxMessage.user_id == user_id)
        return await q.order_by(InboxMessage.id)


QUIET = {"reminders": {"digest": False, "screening": False}}


async def quiet(t: Any, settings: dict[str, Any] | None = None) -> None:
    from core.db.engine import global_tx
    from core.db.tables import Tenant

    async with global_tx():
        await Tenant.update(
            {Tenant.settings: {"reminders": settings} if settings else QUIET}
        ).where(Tenant.id == t.id)


async def test_handler_is_chased_through_each_stage_and_supervisors_get_escalation(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await quiet(t)
    handler = t.users["handler"]["id"]
    case_id, code = await make_case(t.id)
    # Due Wed 2026-09-16. approaching from Fri 09-11 (3 working days before).
    await add_deadline(t.id, case_id, "2026-09-16", user=handler)
    for day, expected in [
        ("2026-09-10", set()),
        ("2026-09-11", {"handle:approaching"}),
        ("2026-09-14", {"handle:approaching"}),
        ("2026-09-16", {"handle:approaching", "handle:due_today"}),
        ("2026-09-17", {"handle:approaching", "handle:due_today", "handle:overdue"}),
        (
            "2026-09-18",
            {"handle:approaching", "handle:due_today", "handle:overdue", "handle:escalated"},
        ),
    ]:
        await run_tick(rt, tenants=[t.id], now=at(day))
        await run_tick(rt, tenants=[t.id], now=at(day, 15))  # a second tick adds nothing
        assert {r["kind"] for r in await reminders(t.id)} == expected, day
    mine = await inbox(t.id, handler)
    assert [m["title"].split("】")[0] for m in mine] == ["【即将到期", "【今日到期", "【催办"]
    assert code in mine[0]["title"] and mine[0]["link"] == f"/cases/{case_id}"
    # 督办 goes to the supervisor and the leader, not the handler.
    for role in ("supervisor", "leader"):
        got = await inbox(t.id, t.users[role]["id"])
        assert [m["title"][:4] for m in got] == ["【督办】"]
    assert await inbox(t.id, t.users["clerk"]["id"]) == []


async def test_catch_up_after_downtime_records_every_stage_but_sends_only_the_latest(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await quiet(t)
    handler = t.users["handler"]["id"]
    case_id, _ = await make_case(t.id)
    await add_deadline(t.id, case_id, "2026-09-16", user=handler)
    await run_tick(rt, tenants=[t.id], now=at("2026-09-21"))  # first tick, long after
    rows = {r["kind"]: r for r in await reminders(t.id)}
    assert set(rows) == {
        "handle:approaching",
        "handle:due_today",
        "handle:overdue",
        "handle:escalated",
    }
    assert [k for k, r in rows.items() if r["notified"]] == ["handle:overdue", "handle:escalated"]
    mine = await inbox(t.id, handler)
    assert len(mine) == 1 and mine[0]["title"].startswith("【补发】【催办】")


async def test_unassigned_deadline_goes_to_the_department_handlers_or_the_clerks(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await quiet(t)
    c1, _ = await make_case(t.id)
    c2, _ = await make_case(t.id)
    await add_deadline(t.id, c1, "2026-09-16", dept=t.departments["handling"])
    await add_deadline(t.id, c2, "2026-09-16")
    await add_deadline(t.id, c2, "2026-09-16", clock="accept", state="met")
    await run_tick(rt, tenants=[t.id], now=at("2026-09-16"))
    assert len(await inbox(t.id, t.users["handler"]["id"])) == 1
    assert len(await inbox(t.id, t.users["clerk"]["id"])) == 1  # c2 has no department


async def test_holidays_and_makeup_workdays_shape_the_stages(rt: Any, make_tenant: Any) -> None:
    """Due Fri 2026-10-09. Three working days before: 10-08, 09-30, 09-29 (10-01..07 is
    the National Day holiday) — so the first reminder comes on Tue 09-29. Overdue on Sat
    10-10, a make-up working day; escalation two working days after the due date: 10-12."""
    t = await make_tenant()
    await quiet(t)
    case_id, _ = await make_case(t.id)
    await add_deadline(t.id, case_id, "2026-10-09", user=t.users["handler"]["id"])
    await run_tick(rt, tenants=[t.id], now=at("2026-09-28"))
    assert await reminders(t.id) == []
    await run_tick(rt, tenants=[t.id], now=at("2026-09-29"))
    assert {r["kind"] for r in await reminders(t.id)} == {"handle:approaching"}
    await run_tick(rt, tenants=[t.id], now=at("2026-10-10"))
    kinds = {r["kind"] for r in await reminders(t.id)}
    assert "handle:overdue" in kinds and "handle:escalated" not in kinds
    await run_tick(rt, tenants=[t.id], now=at("2026-10-12"))
    assert "handle:escalated" in {r["kind"] for r in await reminders(t.id)}


async def test_pending_transfer_and_extension_request_remind_the_right_people(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await quiet(t)
    c1, _ = await make_case(t.id)
    c2, _ = await make_case(
        t.id,
        flags={
            "extension_request": {
                "requested_at": "2026-09-14T10:00:00+08:00",
                "days": 30,
                "reason": "需要鉴定",
                "requested_by": t.users["handler"]["id"],
            }
        },
    )
    async with tenant_tx(t.id):
        await CaseTransfer.insert(
            CaseTransfer(
                tenant_id=t.id,
                case_id=c1,
                direction="in",
                peer_tenant_id=t.id,
                to_department_id=t.departments["handling"],
                status="pending",
                objection_due=date(2026, 9, 16),
                created_at=at("2026-09-09"),
            )
        )
    await run_tick(rt, tenants=[t.id], now=at("2026-09-15"))
    kinds = {(r["case_id"], r["kind"].rsplit(":")[-1]) for r in await reminders(t.id)}
    assert (c1, "reminder") in kinds and (c2, "waiting") in kinds
    handler_msgs = await inbox(t.id, t.users["handler"]["id"])
    assert [m["title"][:5] for m in handler_msgs] == ["转送待确认"]
    leader_msgs = await inbox(t.id, t.users["leader"]["id"])
    assert len(leader_msgs) == 1 and "延期申请待审批" in leader_msgs[0]["title"]
    await run_tick(rt, tenants=[t.id], now=at("2026-09-17"))
    sup = [m["title"] for m in await inbox(t.id, t.users["supervisor"]["id"])]
    assert any("转送逾期未确认" in s for s in sup) and any("仍未审批" in s for s in sup)


async def test_screening_sheet_reminder_once_before_the_20th(rt: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    await quiet(t, {"digest": False})
    # 2026-11-20 is a Friday: trigger three working days before = Tue 11-17.
    await run_tick(rt, tenants=[t.id], now=at("2026-11-16"))
    assert await reminders(t.id) == []
    for d in ("2026-11-17", "2026-11-18", "2026-11-20", "2026-11-23"):
        await run_tick(rt, tenants=[t.id], now=at(d))
    rows = await reminders(t.id)
    assert [(r["kind"], r["due_on"], r["case_id"]) for r in rows] == [
        ("screening_sheet:reminder", date(2026, 11, 20), 0)
    ]
    assert len(await inbox(t.id, t.users["clerk"]["id"])) == 1
    assert len(await inbox(t.id, t.users["supervisor"]["id"])) == 1


async def test_daily_digest_once_per_working_day_after_eight(rt: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    handler = t.users["handler"]["id"]
    for due in ("2026-09-15", "2026-09-16", "2026-09-18"):
        case_id, _ = await make_case(t.id)
        await add_deadline(t.id, case_id, due, user=handler)
    await run_tick(rt, tenants=[t.id], now=at("2026-09-16", 7))
    assert not [r for r in await reminders(t.id) if r["kind"].startswith("digest")]
    await run_tick(rt, tenants=[t.id], now=at("2026-09-16", 8, 5))
    await run_tick(rt, tenants=[t.id], now=at("2026-09-16", 17))
    digests = [r for r in await reminders(t.id) if r["kind"].startswith("digest")]
    assert [r["kind"] for r in digests] == [f"digest:{handler}"]
    msg = [m for m in await inbox(t.id, handler) if m["kind"] == "digest"]
    assert len(msg) == 1 and "催办 1 件" in msg[0]["title"] and "今日到期 1 件" in msg[0]["title"]
    await run_tick(rt, tenants=[t.id], now=at("2026-09-19", 9))  # Saturday: none
    await run_tick(rt, tenants=[t.id], now=at("2026-09-21", 9))
    digests = [r["kind"] for r in await reminders(t.id) if r["kind"].startswith("digest")]
    assert digests.count(f"digest:{handler}") == 2
    # By 09-21 one clock is escalated: the supervisor's digest lists it.
    assert f"digest:{t.users['supervisor']['id']}" in digests


async def test_incremental_tick_picks_up_a_deadline_created_after_the_full_pass(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await quiet(t)
    cal = await load_calendar()
    pack = rt.rule_pack("cn-2022")
    first = await tick_tenant(
        t.scope(rt), QUIET, cal, at("2026-09-16", 9), pack=pack
    )
    assert first.mode == "full"
    case_id, _ = await make_case(t.id)
    await add_deadline(t.id, case_id, "2026-09-16", now=at("2026-09-16", 9, 30))
    second = await tick_tenant(
        t.scope(rt), QUIET, cal, at("2026-09-16", 9, 35), pack=pack
    )
    assert second.mode == "incremental" and second.reminders == 2


async def test_outbox_row_of_a_deactivated_user_is_closed_without_a_message(
    rt: Any, make_tenant: Any
) -> None:
    from core.services.events import enqueue

    t = await make_tenant()
    async with tenant_tx(t.id):
        await enqueue(
            t.scope(rt),
            "test",
            dedupe_key="x1",
            at=at("2026-09-16"),
            payload={"title": "你好", "body": "正文", "link": None},
            recipient_id=999999,
        )
    await run_deliver(rt, tenants=[t.id], now=at("2026-09-16"))
    async with tenant_tx(t.id, write=False):
        rows = await Outbox.select(Outbox.sent_at).where(Outbox.tenant_id == t.id)
    assert rows[0]["sent_at"] is not None
    assert await inbox(t.id) == []
