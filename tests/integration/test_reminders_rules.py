"""Properties of the pure reminder rules (daemon/notify/rules.py) over the real calendar
2025–2026 (make-up Saturdays, National Day, Spring Festival). No database."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.workcalendar import WorkCalendar
from daemon.notify import rules

CAL = WorkCalendar.from_chinese_calendar(range(2025, 2027))
days = st.dates(min_value=date(2025, 1, 10), max_value=date(2026, 12, 20))
policies = st.builds(
    rules.Policy,
    approach_days=st.integers(0, 5),
    escalate_after=st.integers(0, 5),
)


@settings(max_examples=300, deadline=None)
@given(due=days, today=days, later=st.integers(0, 40), policy=policies)
def test_reached_stages_stay_reached(
    due: date, today: date, later: int, policy: rules.Policy
) -> None:
    now = {s.kind for s in rules.deadline_stages("handle", due, today, CAL, policy)}
    after = rules.deadline_stages("handle", due, today + timedelta(days=later), CAL, policy)
    assert now <= {s.kind for s in after}


@settings(max_examples=300, deadline=None)
@given(due=days, today=days, policy=policies)
def test_the_tick_horizon_never_hides_a_reached_stage(
    due: date, today: date, policy: rules.Policy
) -> None:
    reached = rules.deadline_stages("handle", due, today, CAL, policy)
    if reached:
        assert due <= rules.horizon(today, CAL, policy)


@settings(max_examples=200, deadline=None)
@given(due=days, policy=policies)
def test_overdue_and_escalation_fall_on_working_days_in_order(
    due: date, policy: rules.Policy
) -> None:
    stages = {
        s.kind: s.trigger
        for s in rules.deadline_stages("handle", due, date(2027, 12, 31), CAL, policy)
    }
    assert CAL.is_workday(stages["handle:overdue"]) and stages["handle:overdue"] > due
    assert CAL.is_workday(stages["handle:approaching"]) or policy.approach_days == 0
    assert stages["handle:approaching"] <= due < stages["handle:overdue"]
    assert stages["handle:escalated"] >= stages["handle:overdue"] or policy.escalate_after < 1


def test_the_visitors_windows_are_marked_in_every_built_in_pack() -> None:
    """The tick skips what the pack marks as the petitioner's (no list of its own)."""
    from core.rulepacks import available_packs, load_pack

    for name in available_packs():
        assert load_pack(name).petitioner_windows == {"review_request", "rereview_request"}, name


def test_spring_festival_makeup_saturday_counts_as_a_working_day() -> None:
    # Due Tue 2026-02-24 (first day back). Back three working days: 02-14 (make-up Sat),
    # 02-13, 02-12 — the whole holiday 02-15..23 does not count.
    stages = rules.deadline_stages(
        "handle", date(2026, 2, 24), date(2026, 2, 24), CAL, rules.Policy()
    )
    trig = {s.kind: s.trigger for s in stages}
    assert trig["handle:approaching"] == date(2026, 2, 12)


def test_screening_window_ends_on_the_20th() -> None:
    p = rules.Policy()
    # 2026-09-20 is a Sunday but a make-up working day (National Day): three working
    # days before it = 09-16. In 2026-12 the 20th is a Sunday off: 12-18 back to 12-15.
    assert rules.screening_due(date(2026, 9, 15), CAL, p) is None
    assert rules.screening_due(date(2026, 9, 16), CAL, p) == date(2026, 9, 20)
    assert rules.screening_due(date(2026, 9, 20), CAL, p) == date(2026, 9, 20)
    assert rules.screening_due(date(2026, 9, 21), CAL, p) is None
    assert rules.screening_due(date(2026, 12, 14), CAL, p) is None
    assert rules.screening_due(date(2026, 12, 15), CAL, p) == date(2026, 12, 20)


def test_policy_rejects_out_of_range_settings() -> None:
    import pytest

    with pytest.raises(ValueError):
        rules.Policy.from_settings({"reminders": {"approach_days": 99}})
    assert rules.Policy.from_settings({"reminders": {"unknown": 1}}) == rules.Policy()
