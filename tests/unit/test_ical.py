"""iCal feed: rendered with icalendar, parsed back with icalendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from core.domain.ical import PROVISIONAL_MARK, CalendarEvent, render_calendar, uid_for
from core.domain.rota import RotaState, expand, monday_leader_day
from core.domain.workcalendar import WorkCalendar
from core.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=SHANGHAI)
DOMAIN = "t7.xinfang.example"


def event(key: str = "monday_leader_day:2026-10-08:am:0", **changes: object) -> CalendarEvent:
    base = CalendarEvent(
        uid=uid_for(key, DOMAIN),
        day=date(2026, 10, 8),
        start=time(8, 30),
        end=time(11, 30),
        summary="领导信访接待日：王院长",
        location="院机关信访接待室",
        description="原定 2026-10-05 为国庆节休息日，顺延至 2026-10-08",
        sequence=0,
        status="CONFIRMED",
        last_modified=datetime(2026, 8, 20, 16, 0, tzinfo=SHANGHAI),
        provisional=False,
    )
    return replace(base, **changes)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def vevents(data: bytes) -> dict[str, object]:
    return {str(ev["UID"]): ev for ev in parse(data).walk("VEVENT")}


def render(*events: CalendarEvent, now: datetime = NOW) -> bytes:
    return render_calendar(events, name="王院长的接访安排", now=now)


def test_calendar_carries_name_timezone_and_a_vtimezone_for_shanghai():
    cal = parse(render(event()))
    assert str(cal["X-WR-CALNAME"]) == "王院长的接访安排"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Asia/Shanghai"


def test_event_times_are_local_with_tzid_and_stamps_are_utc():
    (ev,) = vevents(render(event())).values()
    assert ev["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert ev["DTEND"].params["TZID"] == "Asia/Shanghai"
    assert ev.decoded("DTSTART") == datetime(2026, 10, 8, 8, 30, tzinfo=SHANGHAI)
    assert ev.decoded("DTEND") == datetime(2026, 10, 8, 11, 30, tzinfo=SHANGHAI)
    assert ev.decoded("DTSTAMP") == NOW
    assert ev.decoded("DTSTAMP").utcoffset() == timedelta(0)
    assert ev.decoded("LAST-MODIFIED") == datetime(2026, 8, 20, 8, 0, tzinfo=UTC)
    raw = render(event())
    assert b"DTSTART;TZID=Asia/Shanghai:20261008T083000" in raw
    assert b"DTSTAMP:20260901T010000Z" in raw


def test_uid_is_stable_across_renders_while_dtstamp_follows_now():
    later = NOW + timedelta(days=3)
    first, second = vevents(render(event())), vevents(render(event(), now=later))
    assert set(first) == set(second) == {uid_for("monday_leader_day:2026-10-08:am:0", DOMAIN)}
    (a,), (b,) = first.values(), second.values()
    assert a.decoded("DTSTAMP") != b.decoded("DTSTAMP")


def test_sequence_and_summary_of_a_swapped_slot_reach_the_subscriber():
    swapped = event(sequence=3, summary="领导信访接待日：李副院长")
    (ev,) = vevents(render(swapped)).values()
    assert ev.decoded("SEQUENCE") == 3
    assert str(ev["SUMMARY"]) == "领导信访接待日：李副院长"
    assert str(ev["LOCATION"]) == "院机关信访接待室"
    assert "顺延至 2026-10-08" in str(ev["DESCRIPTION"])


def test_cancelled_slot_stays_in_the_feed_as_cancelled():
    (ev,) = vevents(render(event(status="CANCELLED", sequence=1))).values()
    assert str(ev["STATUS"]) == "CANCELLED"


def test_provisional_slot_is_tentative_and_marked_in_the_summary():
    (ev,) = vevents(render(event(day=date(2027, 1, 4), provisional=True))).values()
    assert str(ev["STATUS"]) == "TENTATIVE"
    assert str(ev["SUMMARY"]) == "领导信访接待日：王院长" + PROVISIONAL_MARK
    assert PROVISIONAL_MARK == "（临时：工作日历未导入）"


def test_provisional_but_cancelled_slot_stays_cancelled():
    (ev,) = vevents(render(event(provisional=True, status="CANCELLED"))).values()
    assert str(ev["STATUS"]) == "CANCELLED"
    assert str(ev["SUMMARY"]).endswith(PROVISIONAL_MARK)


def test_final_slot_is_confirmed_without_marker():
    (ev,) = vevents(render(event())).values()
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert PROVISIONAL_MARK not in str(ev["SUMMARY"])


def test_same_events_in_any_order_render_identical_bytes():
    a = event("k:2026-10-08:am:0")
    b = event("k:2026-10-08:pm:0", start=time(14, 30), end=time(17, 0))
    c = event("k:2026-10-12:am:0", day=date(2026, 10, 12))
    assert render(a, b, c) == render(c, a, b)
    assert [str(e["UID"]) for e in parse(render(c, b, a)).walk("VEVENT")] == [
        a.uid,
        b.uid,
        c.uid,
    ]


def test_empty_feed_is_still_a_valid_calendar():
    cal = parse(render())
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE")


def test_uid_embeds_the_key_and_domain_and_escapes_separators():
    uid = uid_for("monday_leader_day:2026-10-08:am:0", "T7.Xinfang.Example")
    assert uid == "monday_leader_day%3A2026-10-08%3Aam%3A0@t7.xinfang.example"


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_distinct_slot_keys_never_share_a_uid(k1, k2):
    u1, u2 = uid_for(k1, DOMAIN), uid_for(k2, DOMAIN)
    assert (u1 == u2) == (k1 == k2)
    assert u1.isascii() and " " not in u1 and u1.count("@") == 1


@pytest.mark.parametrize("domain", ["", "bad domain", "-x.example", "例子.中国", "a..b"])
def test_uid_domain_must_be_a_hostname(domain):
    with pytest.raises(InvalidInput) as err:
        uid_for("k:2026-10-08:am:0", domain)
    assert (err.value.code, err.value.field) == ("invalid_uid_domain", "domain")


def test_naive_now_is_rejected():
    with pytest.raises(InvalidInput) as err:
        render_calendar([event()], name="x", now=datetime(2026, 9, 1, 9, 0))
    assert (err.value.code, err.value.field) == ("naive_datetime", "now")


def test_naive_last_modified_is_rejected_naming_the_event():
    with pytest.raises(InvalidInput) as err:
        render(event(), event("k2", last_modified=datetime(2026, 9, 1)))
    assert (err.value.code, err.value.field) == ("naive_datetime", "events[1].last_modified")


def test_duplicate_uids_are_rejected():
    with pytest.raises(InvalidInput) as err:
        render(event(), event(summary="另一条"))
    assert (err.value.code, err.value.field) == ("duplicate_event_uid", "events[1].uid")


def test_event_ending_before_it_starts_is_rejected():
    with pytest.raises(InvalidInput) as err:
        render(event(end=time(8, 0)))
    assert (err.value.code, err.value.field) == ("event_end_not_after_start", "events[0].end")


def test_unknown_timezone_is_rejected():
    with pytest.raises(InvalidInput) as err:
        render_calendar([event()], name="x", tz="Mars/Olympus", now=NOW)
    assert (err.value.code, err.value.field) == ("unknown_timezone", "tz")


def test_expanded_rota_renders_one_event_per_slot_and_2027_ones_tentative():
    result = expand(
        monday_leader_day((1, 2, 3, 4, 5), "信访接待室"),
        WorkCalendar.from_chinese_calendar(),
        date(2026, 12, 1),
        date(2027, 1, 31),
        RotaState(year=2026),
    )
    events = [
        CalendarEvent(
            uid=uid_for(s.key, DOMAIN),
            day=s.day,
            start=s.start,
            end=s.end,
            summary=f"领导信访接待日：{s.leader_id}",
            location=s.place,
            description=s.note_zh,
            sequence=0,
            status="CONFIRMED",
            last_modified=NOW,
            provisional=s.provisional,
        )
        for s in result.slots
    ]
    parsed = vevents(render(*events))
    assert len(parsed) == len(result.slots)
    for s in result.slots:
        ev = parsed[uid_for(s.key, DOMAIN)]
        assert (str(ev["STATUS"]) == "TENTATIVE") == (s.day.year == 2027)
