"""Rota template presets: the court's 四接访 and the seeds' Monday reception day."""

from __future__ import annotations

from collections.abc import Sequence

from core.domain.rota.model import STANDARD_SLOTS, HolidayPolicy, RotaTemplate


def court_leader_rotation(
    leaders: Sequence[int],
    place: str,
    *,
    key: str = "court_leader_rotation",
    standby: Sequence[int] = (),
) -> RotaTemplate:
    """四接访 (1): court leaders receive Mon–Fri in rotation (difficult/major/group cases).

    Holidays are skipped: the next working day already has its own leader.
    """
    return RotaTemplate(
        key=key,
        title_zh="院领导定期接访",
        role="leader_day",
        pattern="weekly",
        weekdays=frozenset(range(5)),
        slots=STANDARD_SLOTS,
        place=place,
        topics=("疑难案件来访", "重大案件来访", "群体性案件来访"),
        leaders=tuple(leaders),
        standby=tuple(standby),
        holiday_policy="skip",
        makeup_workdays=False,
    )


def court_daily_duty(
    filing_leaders: Sequence[int],
    execution_leaders: Sequence[int],
    place: str,
    *,
    makeup_workdays: bool = True,
) -> tuple[RotaTemplate, RotaTemplate]:
    """四接访 (2): every working day one 立案庭 and one 执行庭 duty leader.

    "每一工作日" includes 调休 Saturdays by default; pass ``makeup_workdays=False`` to opt out.
    """

    def duty(key: str, title: str, role: str, people: Sequence[int], topic: str) -> RotaTemplate:
        return RotaTemplate(
            key=key,
            title_zh=title,
            role=role,
            pattern="every_workday",
            weekdays=frozenset(),
            slots=STANDARD_SLOTS,
            place=place,
            topics=(topic,),
            leaders=tuple(people),
            standby=(),
            holiday_policy="skip",
            makeup_workdays=makeup_workdays,
        )

    return (
        duty("filing_duty", "立案庭领导每日接访", "filing_duty", filing_leaders, "立案工作"),
        duty(
            "execution_duty", "执行庭领导每日接访", "execution_duty", execution_leaders, "执行事务"
        ),
    )


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
