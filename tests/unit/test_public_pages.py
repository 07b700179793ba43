"""The public pages' pure parts: the board's weeks, receipt codes as people type them,
and which case events the public sees (and in what words)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.services.public import milestone, normalize_code
from core.services.rota.answers import PublicLeader, PublicSlot
from core.web.public import BOARD_DAYS, _upcoming, _weeks


def slot(day: date, half: str = "am") -> PublicSlot:
    return PublicSlot(
        day=day, half=half, start="08:30", end="11:30", title="领导信访接待日",  # type: ignore[arg-type]
        role="leader_day", place="大厅", topics=[], leader=PublicLeader("李", "主任"),
        provisional=False, note="",
    )  # fmt: skip


def test_weeks_start_on_monday_today_apart_and_four_weeks_ahead() -> None:
    today = date(2026, 12, 2)  # a Wednesday
    days = [date(2026, 12, d) for d in (1, 2, 3, 6, 7, 14, 29, 30)]
    days += [date(2026, 12, 2 + BOARD_DAYS)]
    got_today, weeks = _weeks([slot(d) for d in days] + [slot(today, "pm")], today)
    assert got_today.label == "2026年12月2日（周三）" and len(got_today.slots) == 2
    assert [(w.label, [d.day.day for d in w.days]) for w in weeks] == [
        ("本周", [3, 6]),
        ("下周", [7]),
        ("12月14日起的一周", [14]),
        ("12月28日起的一周", [29]),
    ]  # yesterday and day 28 onward are left out
    assert weeks[0].days[0].label == "12月3日 周四"
    assert [d.day.day for d, _ in _upcoming(weeks)] == [3, 6, 7, 14, 29]


def test_receipt_codes_as_people_type_them() -> None:
    assert normalize_code(" 261129-7k3m9qxa ") == "261129-7K3M9QXA"
    assert normalize_code("2611297K3M9QXA") == "261129-7K3M9QXA"
    assert normalize_code("261129-OIL0") == "261129-0110"  # look-alikes of the alphabet
    assert normalize_code("") == ""


def event(kind: str, **data: object) -> dict[str, object]:
    return {"kind": kind, "at": datetime(2026, 11, 30, 20, 0, tzinfo=UTC), "data": data}


def test_public_milestones_name_organizations_never_people_or_notes() -> None:
    accepted = milestone(event("accept", note="内部：张科长"), {})
    assert accepted is not None and accepted.title == "已受理"
    assert accepted.on == date(2026, 12, 1)  # Beijing time
    for internal in ("chase", "coordinate", "report", "request_extension", "recuse",
                     "similar_registered", "deadline_recomputed", "adopt_contact"):  # fmt: skip
        assert milestone(event(internal, note="x"), {}) is None, internal
    inner = milestone(event("transfer", to_department_id=7, note="给王工"), {})
    assert inner is not None and inner.title == "已交本机构承办部门办理"
    out = milestone(event("transfer", to_tenant_name="某区信访局", their_receipt_code="C-1"), {})
    assert out is not None and out.title.startswith("已转送至某区信访局（对方回执号 C-1")
    notice = milestone(event("notify", channel="post", given_on="2026-11-28"), {})
    assert notice is not None and notice.on == date(2026, 11, 28) and "邮寄" in notice.title
