"""GET /api/v1/stats — the statistics of the matters registered in a period
(definitions: docs/metrics.md)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Router, get
from litestar.params import Parameter, QueryParameter

from core.schemas import MAX_ID, Id
from core.services import stats
from core.services.stats import StatsOut
from core.web.auth import CallerScope, requires_staff

FROM_ZH = "开始日期 YYYY-MM-DD（含；北京时间的登记日期；缺省：11 个月前的月初）"
TO_ZH = "结束日期 YYYY-MM-DD（含；缺省：今天）"


class StatsController(Controller):
    path = "/stats"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def show(
        self,
        sc: CallerScope,
        start: Annotated[
            str | None, QueryParameter(name="from", max_length=10, description=FROM_ZH)
        ] = None,
        end: Annotated[
            str | None, QueryParameter(name="to", max_length=10, description=TO_ZH)
        ] = None,
        department_id: Annotated[
            Id | None, Parameter(ge=1, le=MAX_ID, description="只统计该部门（事项当前部门）")
        ] = None,
        category: Annotated[str | None, Parameter(max_length=63, description="类别代码")] = None,
        channel: Annotated[
            str | None, Parameter(max_length=16, description="letter/visit/phone/online")
        ] = None,
        settle_months: Annotated[
            int, Parameter(ge=1, le=36, description="息访：办结后多少个月内无新事项")
        ] = stats.SETTLE_MONTHS,
    ) -> StatsOut:
        """批次/人次、办结率、按期办结率、一次性办结率、重复访率、息访、满意度，按月、类别、部门、渠道分组。"""
        q = stats.make_query(
            sc,
            start=start,
            end=end,
            department_id=department_id,
            category=category,
            channel=channel,
            settle_months=settle_months,
        )
        return await stats.compute(sc, q)


def stats_router() -> Router:
    return Router(path="/api/v1", route_handlers=[StatsController], tags=["staff"])
