"""Properties of the pure reminder rules (core/domain/reminders.py) over the real calendar
2025–2026 (make-up Saturdays, National Day, Spring Festival). No database."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import reminders as rules
from core.domain.workcalendar import WorkCalendar

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


def test_reminders_name_each_clock_as_the_tenants_rule_pack_does() -> None:
    """Clock names come from the pack (``short_zh``, else ``title_zh``), not a table of
    the daemon's: every built-in pack names its clocks, an admin's pack can rename one,
    and a clock without a short name (a sector plugin's) is called by its title."""
    from dataclasses import replace

    from core.domain.rulepacks import REQUIRED_CLOCKS, ClockRule
    from core.rulepacks import available_packs, load_pack

    due = date(2026, 9, 30)
    for name in available_packs():
        pack = load_pack(name)
        for clock in REQUIRED_CLOCKS:
            assert pack.clocks[clock].short_zh, (name, clock)
        title, body = rules.message_for("handle:overdue", "R-1", due, CAL, late=False, pack=pack)
        assert title == "【催办】办理期限：R-1" and "的办理期限已于" in body, name

    pack = load_pack("cn-2022")
    renamed = replace(
        pack, clocks={**pack.clocks, "handle": replace(pack.clocks["handle"], short_zh="办结")}
    )
    title, _ = rules.message_for("handle:escalated", "R-1", due, CAL, late=True, pack=renamed)
    assert title == "【补发】【督办】办结期限：R-1"
    plugin = ClockRule("trial_notice", 10, "working", "开庭通知")
    with_plugin = replace(pack, clocks={**pack.clocks, plugin.name: plugin})
    title, _ = rules.message_for("trial_notice:due_today", "R-1", due, CAL, late=False, pack=with_plugin)
    assert title == "【今日到期】开庭通知期限：R-1"


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
