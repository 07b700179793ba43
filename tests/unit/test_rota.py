"""Rota expansion: 领导信访接待日 and the court's 四接访 against the real 2026 calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.domain.rota import (
    STANDARD_SLOTS,
    ExpansionResult,
    HolidayPolicy,
    PlannedSlot,
    RotaState,
    RotaTemplate,
    SlotSpec,
    balance_report,
    expand,
    slot_key,
)
from core.domain.rota.presets import monday_leader_day
from core.domain.workcalendar import WorkCalendar
from core.errors import InvalidInput

LEADERS = (11, 12, 13, 14, 15)
Y2026 = (date(2026, 1, 1), date(2026, 12, 31))
HOLIDAY_MONDAYS_2026 = (
    date(2026, 2, 16),
    date(2026, 2, 23),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 10, 5),
)

CAL = WorkCalendar.from_chinese_calendar()


def fresh(year: int = 2026) -> RotaState:
    return RotaState(year=year)


def monday(policy: HolidayPolicy = "next_workday", **changes: object) -> RotaTemplate:
    return replace(monday_leader_day(LEADERS, "信访接待室", holiday_policy=policy), **changes)


def run(template: RotaTemplate, start: date, end: date, state: RotaState | None = None, **kw):
    return expand(template, CAL, start, end, state or fresh(start.year), **kw)


def days_of(result: ExpansionResult) -> list[date]:
    return sorted({s.day for s in result.slots})


def by_day(result: ExpansionResult) -> dict[date, list[PlannedSlot]]:
    out: dict[date, list[PlannedSlot]] = {}
    for s in result.slots:
        out.setdefault(s.day, []).append(s)
    return out


def leader_on(result: ExpansionResult, day: date) -> int:
    (leader,) = {s.leader_id for s in result.slots if s.day == day}
    return leader


# --- template validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"leaders": ()}, "rota_leaders_required", "leaders"),
        ({"leaders_per_slot": 6}, "leaders_per_slot_out_of_range", "leaders_per_slot"),
        ({"leaders_per_slot": 0}, "leaders_per_slot_out_of_range", "leaders_per_slot"),
        (
            {"slots": (SlotSpec("am", time(11, 30), time(8, 30)),)},
            "slot_end_not_after_start",
            "slots[0].end",
        ),
        (
            {"slots": (SlotSpec("am", time(9), time(9)),)},
            "slot_end_not_after_start",
            "slots[0].end",
        ),
        (
            {
                "slots": (
                    SlotSpec("am", time(8, 30), time(13, 0)),
                    SlotSpec("pm", time(12, 30), time(17, 0)),
                )
            },
            "overlapping_slots",
            "slots[1].start",
        ),
        ({"slots": ()}, "rota_slots_required", "slots"),
        (
            {"slots": (SlotSpec("pm", time(8, 30), time(11, 30)),)},
            "slot_half_mismatch",
            "slots[0].start",
        ),
        ({"slots": STANDARD_SLOTS[:1] * 2}, "duplicate_slot_half", "slots[1].half"),
        ({"weekdays": frozenset({7})}, "unknown_weekday", "weekdays"),
        ({"weekdays": frozenset({-1})}, "unknown_weekday", "weekdays"),
        ({"weekdays": frozenset()}, "rota_weekdays_required", "weekdays"),
        ({"leaders": (1, 2, 1)}, "duplicate_rota_leader", "leaders"),
        ({"standby": (12,)}, "standby_overlaps_leaders", "standby"),
        ({"key": "bad key:1"}, "invalid_rota_key", "key"),
        ({"holiday_policy": "postpone"}, "unknown_holiday_policy", "holiday_policy"),
        ({"pattern": "monthly"}, "unknown_rota_pattern", "pattern"),
    ],
)
def test_invalid_template_is_rejected_with_code_and_field(changes, code, field):
    with pytest.raises(InvalidInput) as err:
        monday(**changes).validate()
    assert (err.value.code, err.value.field) == (code, field)
    assert err.value.message  # zh-CN sentence for the clerk


def test_presets_are_valid_templates():
    monday_leader_day(LEADERS, "信访接待室").validate()


def test_expand_rejects_reversed_range():
    with pytest.raises(InvalidInput) as err:
        run(monday(), date(2026, 3, 2), date(2026, 3, 1))
    assert (err.value.code, err.value.field) == ("rota_range_reversed", "end")


def test_expand_rejects_leave_that_ends_before_it_starts():
    leave = {12: [(date(2026, 3, 9), date(2026, 3, 2))]}
    with pytest.raises(InvalidInput) as err:
        run(monday(), date(2026, 3, 1), date(2026, 3, 31), unavailable=leave)
    assert (err.value.code, err.value.field) == ("leave_range_reversed", "unavailable[12]")


def test_expand_rejects_state_from_a_later_year():
    with pytest.raises(InvalidInput) as err:
        run(monday(), date(2026, 3, 1), date(2026, 3, 31), RotaState(year=2027))
    assert (err.value.code, err.value.field) == ("rota_state_year_ahead", "state.year")


# --- Monday rota over 2026 ---------------------------------------------------------------


def test_monday_rota_rotates_five_leaders_in_order_from_the_cursor():
    result = run(monday(), date(2026, 3, 1), date(2026, 4, 5))
    mondays = days_of(result)
    assert mondays == [date(2026, 3, 2) + timedelta(weeks=i) for i in range(5)]
    assert [leader_on(result, d) for d in mondays] == list(LEADERS)
    assert result.state.cursor == 0


def test_monday_rota_gives_am_and_pm_of_one_day_to_the_same_leader():
    result = run(monday(), *Y2026)
    for day, slots in by_day(result).items():
        assert sorted(s.half for s in slots) == ["am", "pm"], day
        assert len({s.leader_id for s in slots}) == 1, day
        am = next(s for s in slots if s.half == "am")
        assert (am.start, am.end) == (time(8, 30), time(11, 30))


def test_skip_policy_leaves_holiday_mondays_without_a_slot():
    result = run(monday("skip"), *Y2026)
    days = days_of(result)
    assert all(d.weekday() == 0 for d in days)
    assert not set(HOLIDAY_MONDAYS_2026) & set(days)
    assert len(days) == 52 - len(HOLIDAY_MONDAYS_2026)
    skipped = {s.original_day: s for s in result.skipped}
    assert set(skipped) == set(HOLIDAY_MONDAYS_2026)
    assert skipped[date(2026, 10, 5)].reason == "holiday_skipped"
    assert "2026-10-05" in skipped[date(2026, 10, 5)].note_zh


def test_skipped_holiday_does_not_consume_a_leaders_turn():
    result = run(monday("skip"), date(2026, 9, 1), date(2026, 10, 31))
    before, after = leader_on(result, date(2026, 9, 28)), leader_on(result, date(2026, 10, 12))
    assert LEADERS.index(after) == (LEADERS.index(before) + 1) % len(LEADERS)


def test_previous_workday_policy_moves_national_day_monday_to_september_30():
    result = run(monday("previous_workday"), *Y2026)
    moved = by_day(result)[date(2026, 9, 30)]
    assert {s.original_day for s in moved} == {date(2026, 10, 5)}
    assert "提前至 2026-09-30" in moved[0].note_zh
    assert date(2026, 10, 5) not in days_of(result)


def test_previous_workday_lands_on_a_makeup_saturday_only_when_the_rota_allows_it():
    # Spring Festival Monday 2026-02-16: the working day before is Saturday 02-14 (调休).
    without = run(monday("previous_workday"), date(2026, 2, 1), date(2026, 2, 28))
    with_ = run(
        monday("previous_workday", makeup_workdays=True), date(2026, 2, 1), date(2026, 2, 28)
    )
    assert date(2026, 2, 13) in days_of(without) and date(2026, 2, 14) not in days_of(without)
    assert date(2026, 2, 14) in days_of(with_) and date(2026, 2, 13) not in days_of(with_)


def test_next_workday_policy_moves_national_day_monday_to_october_8():
    result = run(monday("next_workday"), *Y2026)
    moved = by_day(result)[date(2026, 10, 8)]
    assert {s.original_day for s in moved} == {date(2026, 10, 5)}
    assert "原定 2026-10-05" in moved[0].note_zh and "顺延至 2026-10-08" in moved[0].note_zh
    assert moved[0].note_zh == "原定 2026-10-05 为国庆节休息日，顺延至 2026-10-08"


def test_two_holiday_mondays_moving_to_the_same_day_make_one_slot_not_two():
    # 2026-02-16 and 02-23 both fall in the Spring Festival break; the next working day
    # after either is 02-24.
    result = run(monday("next_workday"), date(2026, 2, 1), date(2026, 3, 1))
    slots = by_day(result)[date(2026, 2, 24)]
    assert len(slots) == 2  # am + pm, one leader
    assert {s.original_day for s in slots} == {date(2026, 2, 16)}
    merged = [s for s in result.skipped if s.reason == "merged"]
    assert [(s.original_day, s.moved_to) for s in merged] == [
        (date(2026, 2, 23), date(2026, 2, 24))
    ]


def test_moved_slot_merges_into_an_existing_pattern_day():
    # Mon+Wed rota: Monday 10-05 moved back lands on Wednesday 09-30, which already has one.
    template = monday("previous_workday", weekdays=frozenset({0, 2}))
    result = run(template, date(2026, 9, 28), date(2026, 10, 11))
    assert len(by_day(result)[date(2026, 9, 30)]) == 2
    assert all(s.original_day is None for s in by_day(result)[date(2026, 9, 30)])
    assert any(s.original_day == date(2026, 10, 5) and s.reason == "merged" for s in result.skipped)


def test_keep_policy_keeps_the_holiday_monday():
    result = run(monday("keep"), *Y2026)
    kept = by_day(result)[date(2026, 10, 5)]
    assert kept[0].original_day is None and "照常接待" in kept[0].note_zh
    assert len(days_of(result)) == 52


def test_move_out_of_the_window_is_reported_and_made_by_the_next_window():
    first = run(monday("next_workday"), date(2026, 10, 1), date(2026, 10, 6))
    assert first.slots == ()
    (note,) = first.skipped
    assert (note.reason, note.original_day, note.moved_to) == (
        "outside_range",
        date(2026, 10, 5),
        date(2026, 10, 8),
    )
    second = run(monday("next_workday"), date(2026, 10, 7), date(2026, 10, 9), first.state)
    assert days_of(second) == [date(2026, 10, 8)]
    assert second.slots[0].original_day == date(2026, 10, 5)


def test_move_back_into_an_earlier_window_is_made_there_and_not_again():
    september = run(monday("previous_workday"), date(2026, 9, 1), date(2026, 9, 30))
    assert {s.original_day for s in by_day(september)[date(2026, 9, 30)]} == {date(2026, 10, 5)}
    october = run(
        monday("previous_workday"), date(2026, 10, 1), date(2026, 10, 31), september.state
    )
    assert date(2026, 9, 30) not in days_of(october) and date(2026, 10, 5) not in days_of(october)
    assert [(s.reason, s.moved_to) for s in october.skipped] == [
        ("outside_range", date(2026, 9, 30))
    ]


@pytest.mark.parametrize("policy", ["skip", "previous_workday", "next_workday", "keep"])
def test_monday_rota_yearly_counts_are_balanced_within_one(policy):
    result = run(monday(policy), *Y2026)
    report = balance_report(result.slots, LEADERS)
    assert max(report.values()) - min(report.values()) <= 1
    assert report == dict(result.state.counts)
    assert sum(report.values()) == len(days_of(result))


def test_two_leaders_per_slot_are_different_people():
    template = monday(leaders_per_slot=2)
    result = run(template, *Y2026)
    for day, slots in by_day(result).items():
        assert len(slots) == 4, day
        am = {s.leader_id for s in slots if s.half == "am"}
        assert len(am) == 2, day
    report = balance_report(result.slots, LEADERS)
    assert max(report.values()) - min(report.values()) <= 1


# --- re-expansion, leave, standby, years -------------------------------------------------


def held(result: ExpansionResult) -> dict[str, int | None]:
    """The slots of ``result`` as stored: key → the leader holding it."""
    return {s.key: s.leader_id for s in result.slots}


def test_rerunning_the_same_window_with_existing_slots_creates_nothing_and_keeps_state():
    first = run(monday(), *Y2026)
    again = run(monday(), *Y2026, first.state, existing=held(first))
    assert again.slots == () and again.unfilled == ()
    assert again.state == first.state


def test_overlapping_window_creates_only_the_new_days_without_drift():
    template = monday()
    first = run(template, date(2026, 1, 1), date(2026, 6, 30))
    overlap = run(template, date(2026, 3, 1), date(2026, 9, 30), first.state, existing=held(first))
    tail = run(template, date(2026, 7, 1), date(2026, 9, 30), first.state)
    assert overlap.slots == tail.slots
    assert overlap.state == tail.state
    whole = run(template, date(2026, 1, 1), date(2026, 9, 30))
    assert first.slots + overlap.slots == whole.slots


def test_leader_on_leave_is_passed_over_and_takes_the_next_monday():
    template = monday()
    # Without leave, 13 would take 2026-03-16.
    leave = {13: [(date(2026, 3, 14), date(2026, 3, 20))]}
    result = run(template, date(2026, 3, 1), date(2026, 12, 31), unavailable=leave)
    assert leader_on(result, date(2026, 3, 16)) == 14
    assert leader_on(result, date(2026, 3, 23)) == 13
    assert all(s.leader_id != 13 for s in result.slots if s.day == date(2026, 3, 16))
    report = balance_report(result.slots, LEADERS)
    assert max(report.values()) - min(report.values()) <= 1


def test_standby_covers_when_every_rotation_leader_is_away():
    away = {p: [(date(2026, 3, 9), date(2026, 3, 9))] for p in LEADERS}
    template = monday(standby=(90, 91))
    result = run(template, date(2026, 3, 2), date(2026, 3, 16), unavailable=away)
    covered = by_day(result)[date(2026, 3, 9)]
    assert {s.leader_id for s in covered} == {90}
    assert all(s.standby_used and "备班" in s.note_zh for s in covered)
    # The stand-in did not consume a rotation turn: 3-16 goes to the next leader after 3-02.
    assert leader_on(result, date(2026, 3, 16)) == 12
    assert result.state.counts[90] == 1


def test_standby_with_fewest_counts_is_chosen():
    template = monday(standby=(90, 91))
    away = {p: [(date(2026, 3, 2), date(2026, 3, 9))] for p in LEADERS}
    result = run(template, date(2026, 3, 2), date(2026, 3, 9), unavailable=away)
    assert [leader_on(result, d) for d in days_of(result)] == [90, 91]


def test_slot_nobody_can_take_is_returned_unfilled_and_does_not_move_the_rotation():
    away = {p: [(date(2026, 3, 9), date(2026, 3, 9))] for p in LEADERS}
    start_state = RotaState(year=2026, cursor=2, counts={11: 1})
    result = run(monday(), date(2026, 3, 9), date(2026, 3, 9), start_state, unavailable=away)
    assert result.slots == ()
    assert [(u.day, u.half) for u in result.unfilled] == [
        (date(2026, 3, 9), "am"),
        (date(2026, 3, 9), "pm"),
    ]
    assert result.unfilled[0].key == slot_key("monday_leader_day", date(2026, 3, 9), "am", 0)
    assert "人工安排" in result.unfilled[0].note_zh
    assert result.state == start_state


def test_counts_restart_in_a_new_year_but_the_rotation_continues():
    state = RotaState(year=2026, cursor=3, counts={11: 10, 12: 10, 13: 10, 14: 9, 15: 9})
    result = run(monday(), date(2027, 1, 1), date(2027, 1, 31), state)
    assert result.state.year == 2027
    assert dict(result.state.counts) == balance_report(result.slots)
    first = result.slots[0]
    assert first.day == date(2027, 1, 4) and first.leader_id == 14


def test_slots_in_the_unimported_year_2027_are_provisional():
    result = run(monday(), date(2026, 12, 1), date(2027, 1, 31))
    assert result.slots
    for s in result.slots:
        assert s.provisional == (s.day.year == 2027)


def test_slot_keys_are_stable_and_name_template_day_half_and_position():
    slot = run(monday(), date(2026, 3, 2), date(2026, 3, 2)).slots[0]
    assert slot.key == "monday_leader_day:2026-03-02:am:0"


# --- properties --------------------------------------------------------------------------

WINDOW_START = date(2025, 12, 1)
WINDOW_DAYS = 480  # reaches into provisional 2027


ALL_POLICIES = ("skip", "previous_workday", "next_workday", "keep")


@st.composite
def templates(
    draw: st.DrawFn,
    patterns: tuple[str, ...] = ("weekly", "every_workday"),
    policies: tuple[str, ...] = ALL_POLICIES,
) -> RotaTemplate:
    n = draw(st.integers(1, 6))
    pattern = draw(st.sampled_from(patterns))
    weekdays = (
        frozenset(draw(st.sets(st.integers(0, 6), min_size=1, max_size=3)))
        if pattern == "weekly"
        else frozenset()
    )
    slots = draw(st.sampled_from([STANDARD_SLOTS, STANDARD_SLOTS[:1], STANDARD_SLOTS[1:]]))
    return RotaTemplate(
        key="prop",
        title_zh="测试排班",
        role="leader_day",
        pattern=pattern,
        weekdays=weekdays,
        slots=slots,
        place="接待室",
        topics=(),
        leaders=tuple(range(1, n + 1)),
        standby=tuple(draw(st.lists(st.integers(100, 102), max_size=2, unique=True))),
        holiday_policy=draw(st.sampled_from(policies)),
        makeup_workdays=draw(st.booleans()),
        leaders_per_slot=draw(st.integers(1, min(n, 2))),
        same_leader_whole_day=draw(st.booleans()),
    )


# Holiday blocks with 调休 days around them, where boundaries and moves interact.
HOLIDAY_ANCHORS = (date(2026, 2, 19), date(2026, 5, 3), date(2026, 10, 4), date(2027, 1, 1))


@st.composite
def windows(draw: st.DrawFn, near_holidays: bool = False) -> tuple[date, date]:
    if not near_holidays and draw(st.booleans()):
        start = WINDOW_START + timedelta(draw(st.integers(0, WINDOW_DAYS)))
        return start, start + timedelta(draw(st.integers(0, 90)))
    start = draw(st.sampled_from(HOLIDAY_ANCHORS)) + timedelta(draw(st.integers(-12, 8)))
    return start, start + timedelta(draw(st.integers(0, 25)))


@st.composite
def leave(draw: st.DrawFn) -> dict[int, list[tuple[date, date]]]:
    out: dict[int, list[tuple[date, date]]] = {}
    for person in draw(st.lists(st.sampled_from([1, 2, 3, 100]), max_size=3, unique=True)):
        first = WINDOW_START + timedelta(draw(st.integers(0, WINDOW_DAYS + 90)))
        out[person] = [(first, first + timedelta(draw(st.integers(0, 20))))]
    return out


def year_of(start: date) -> RotaState:
    return RotaState(year=start.year)


@settings(max_examples=60, deadline=None)
@given(templates(), windows(), leave())
def test_property_no_two_slots_of_a_template_share_day_half_and_position(template, window, away):
    result = expand(template, CAL, *window, year_of(window[0]), unavailable=away)
    keys = [(s.day, s.half, s.position) for s in result.slots + result.unfilled]
    assert len(keys) == len(set(keys))
    people: dict[tuple[date, str], list[int]] = {}
    for s in result.slots:
        assert window[0] <= s.day <= window[1]
        assert s.leader_id not in away or not any(a <= s.day <= b for a, b in away[s.leader_id])
        people.setdefault((s.day, s.half), []).append(s.leader_id)
    for leaders in people.values():
        assert len(leaders) == len(set(leaders)) <= template.leaders_per_slot


@settings(max_examples=60, deadline=None)
@given(templates(), windows())
def test_property_slots_fall_on_working_days_unless_policy_keeps_them(template, window):
    result = expand(template, CAL, *window, year_of(window[0]))
    for s in result.slots:
        if template.holiday_policy != "keep" or template.pattern == "every_workday":
            assert CAL.is_workday(s.day), s
        if s.original_day is not None:  # moved: only onto a make-up day if allowed
            assert template.makeup_workdays or not CAL.is_makeup_workday(s.day)
        assert s.provisional == CAL.is_provisional(s.day)


@settings(max_examples=25, deadline=None)
@given(templates())
def test_property_yearly_counts_differ_by_at_most_one_without_leave(template):
    result = expand(template, CAL, *Y2026, fresh())
    report = balance_report(result.slots, template.leaders)
    assert max(report.values()) - min(report.values()) <= 1
    assert report == {p: result.state.counts.get(p, 0) for p in template.leaders}


def assert_split_equals_whole(template, window, cut, away):
    a, c = window
    b = min(a + timedelta(cut), c)
    whole = expand(template, CAL, a, c, year_of(a), unavailable=away)
    first = expand(template, CAL, a, b, year_of(a), unavailable=away)
    if b < c:
        second = expand(template, CAL, b + timedelta(1), c, first.state, unavailable=away)
        parts = (first.slots + second.slots, first.unfilled + second.unfilled, second.state)
    else:
        parts = (first.slots, first.unfilled, first.state)
    assert parts == (whole.slots, whole.unfilled, whole.state)


@settings(max_examples=60, deadline=None)
@given(templates(), windows(), st.integers(0, 30), leave())
def test_property_expanding_in_two_parts_equals_expanding_at_once(template, window, cut, away):
    assert_split_equals_whole(template, window, cut, away)


@settings(max_examples=100, deadline=None)
@given(
    templates(patterns=("weekly",), policies=("previous_workday", "next_workday")),
    windows(near_holidays=True),
    st.integers(0, 30),
)
def test_property_split_inside_a_holiday_block_neither_loses_nor_doubles_moved_slots(
    template, window, cut
):
    assert_split_equals_whole(template, window, cut, {})


# Two leaders a slot, one of the two on leave: position 0 goes to the other, position 1
# stays unfilled; a rerun must not hand position 1 to the holder of position 0.
TWO_A_SLOT_ONE_AWAY = (
    RotaTemplate(
        key="prop",
        title_zh="测试排班",
        role="leader_day",
        pattern="weekly",
        weekdays=frozenset({0}),
        slots=STANDARD_SLOTS,
        place="接待室",
        topics=(),
        leaders=(1, 2),
        standby=(),
        holiday_policy="next_workday",
        makeup_workdays=False,
        leaders_per_slot=2,
        same_leader_whole_day=False,
    ),
    (date(2025, 12, 1), date(2025, 12, 1)),
    {1: [(date(2025, 12, 1), date(2025, 12, 1))]},
)


@settings(max_examples=40, deadline=None)
@given(templates(), windows(), leave())
@example(*TWO_A_SLOT_ONE_AWAY)
@example(replace(TWO_A_SLOT_ONE_AWAY[0], same_leader_whole_day=True), *TWO_A_SLOT_ONE_AWAY[1:])
def test_property_rerun_with_existing_slots_is_idempotent(template, window, away):
    first = expand(template, CAL, *window, year_of(window[0]), unavailable=away)
    again = expand(template, CAL, *window, first.state, unavailable=away, existing=held(first))
    assert again.slots == ()
    assert again.state == first.state
    assert again.unfilled == first.unfilled
