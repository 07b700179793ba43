"""The court's 四接访 rotas (plugins/court/rota.py), expanded by core against the real
2026 calendar after conversion to core's template (core.plugins.domain_rota_template)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from core.domain.rota import ExpansionResult, RotaState, RotaTemplate, expand
from core.domain.workcalendar import WorkCalendar
from core.errors import InvalidInput
from core.plugins import domain_rota_template
from plugins.court import rota as presets

LEADERS = (11, 12, 13, 14, 15)
Y2026 = (date(2026, 1, 1), date(2026, 12, 31))
MAKEUP_SATURDAYS_2026 = (date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 10, 10))

CAL = WorkCalendar.from_chinese_calendar()


def court_leader_rotation(*args, **kwargs) -> RotaTemplate:
    return domain_rota_template(presets.court_leader_rotation(*args, **kwargs))


def court_daily_duty(*args, **kwargs) -> tuple[RotaTemplate, RotaTemplate]:
    filing, execution = presets.court_daily_duty(*args, **kwargs)
    return domain_rota_template(filing), domain_rota_template(execution)


def run(template: RotaTemplate, start: date, end: date, state: RotaState | None = None, **kw):
    return expand(template, CAL, start, end, state or RotaState(year=start.year), **kw)


def days_of(result: ExpansionResult) -> list[date]:
    return sorted({s.day for s in result.slots})


def leader_on(result: ExpansionResult, day: date) -> int:
    (leader,) = {s.leader_id for s in result.slots if s.day == day}
    return leader


def test_every_workday_rota_rejects_weekdays():
    filing, _ = court_daily_duty((1,), (2,), "立案大厅")
    with pytest.raises(InvalidInput) as err:
        replace(filing, weekdays=frozenset({0})).validate()
    assert err.value.code == "rota_weekdays_not_applicable"


def test_presets_are_valid_templates():
    court_leader_rotation(LEADERS, "院机关").validate()
    for t in court_daily_duty((1, 2), (3, 4), "立案大厅"):
        t.validate()


@pytest.mark.parametrize("makeup", [True, False])
def test_daily_duty_carries_makeup_saturdays_only_when_enabled(makeup):
    filing, execution = court_daily_duty((1, 2, 3), (4, 5), "立案大厅", makeup_workdays=makeup)
    for template in (filing, execution):
        result = run(template, *Y2026)
        days = set(days_of(result))
        assert all(CAL.is_workday(d) for d in days)
        assert all((d in days) == makeup for d in MAKEUP_SATURDAYS_2026)
        assert not {date(2026, 10, 1), date(2026, 10, 7), date(2026, 2, 16)} & days
        expected = {
            d
            for d in (date(2026, 1, 1) + timedelta(n) for n in range(365))
            if CAL.is_workday(d) and (makeup or d.weekday() < 5)
        }
        assert days == expected
        assert len(result.slots) == 2 * len(expected)  # am + pm each day


def test_daily_duty_assigns_filing_and_execution_leaders_from_their_own_lists():
    filing, execution = court_daily_duty((1, 2, 3), (4, 5), "立案大厅")
    f = run(filing, date(2026, 3, 2), date(2026, 3, 6))
    e = run(execution, date(2026, 3, 2), date(2026, 3, 6))
    assert [leader_on(f, d) for d in days_of(f)] == [1, 2, 3, 1, 2]
    assert [leader_on(e, d) for d in days_of(e)] == [4, 5, 4, 5, 4]
    assert {s.template_key for s in f.slots} == {"filing_duty"}


def test_court_leader_rotation_runs_monday_to_friday_and_skips_holidays():
    result = run(court_leader_rotation(LEADERS, "院机关"), date(2026, 9, 28), date(2026, 10, 11))
    assert days_of(result) == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    assert [leader_on(result, d) for d in days_of(result)] == list(LEADERS)


def test_presets_match_what_core_built_before_they_moved():
    """The plugin's rota is core's template field for field (standard slots filled in)."""
    from core.domain.rota import STANDARD_SLOTS

    leader = court_leader_rotation(LEADERS, "院机关", standby=(9,))
    assert (leader.key, leader.role, leader.pattern) == (
        "court_leader_rotation",
        "leader_day",
        "weekly",
    )
    assert leader.weekdays == frozenset(range(5)) and leader.slots == STANDARD_SLOTS
    assert leader.standby == (9,) and leader.holiday_policy == "skip"
    assert not leader.makeup_workdays and leader.same_leader_whole_day
    filing, _ = court_daily_duty((1,), (2,), "立案大厅")
    assert (filing.pattern, filing.weekdays, filing.topics) == (
        "every_workday",
        frozenset(),
        ("立案工作",),
    )
    assert filing.makeup_workdays and filing.leaders_per_slot == 1
