"""The court's 四接访 as rotas core can expand (``core.plugins.domain_rota_template``).

(1) court leaders receive Monday to Friday in rotation; (2) every working day one
立案庭 and one 执行庭 duty leader. (3) 派出法庭 "any time" and (4) fixed-point desks
are not rotas. Slots are core's standard half-days (left empty here).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.plugin_api import RotaTemplate


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
        code=key,
        title_zh="院领导定期接访",
        kind="leader_day",
        cadence="weekly",
        weekdays=tuple(range(5)),
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
            code=key,
            title_zh=title,
            kind=role,
            cadence="every_workday",
            place=place,
            topics=(topic,),
            leaders=tuple(people),
            holiday_policy="skip",
            makeup_workdays=makeup_workdays,
        )

    return (
        duty("filing_duty", "立案庭领导每日接访", "filing_duty", filing_leaders, "立案工作"),
        duty(
            "execution_duty", "执行庭领导每日接访", "execution_duty", execution_leaders, "执行事务"
        ),
    )
