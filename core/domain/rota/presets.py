"""Rota template presets: the seeds' Monday reception day (the court's 四接访 presets live in
the court plugin, plugins/court/rota.py)."""

from __future__ import annotations

from collections.abc import Sequence

from core.domain.rota.model import STANDARD_SLOTS, HolidayPolicy, RotaTemplate


def monday_leader_day(
    leaders: Sequence[int],
    place: str,
    *,
    holiday_policy: HolidayPolicy = "next_workday",
    standby: Sequence[int] = (),
) -> RotaTemplate:
    """Seeds: every Monday is the leaders' reception day, the (five) leaders rotate.

    A Monday inside a holiday moves to the next working day by default, so the week still
    has its reception day.
    """
    return RotaTemplate(
        key="monday_leader_day",
        title_zh="领导信访接待日",
        role="leader_day",
        pattern="weekly",
        weekdays=frozenset({0}),
        slots=STANDARD_SLOTS,
        place=place,
        topics=(),
        leaders=tuple(leaders),
        standby=tuple(standby),
        holiday_policy=holiday_policy,
        makeup_workdays=False,
    )
