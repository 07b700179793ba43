"""/stats — the statistics page (统计分析): the period and filters, the key figures, and
four charts (trend by month, by category, by department, by channel), each with its
table. Same service as ``GET /api/v1/stats``; the charts are drawn by
/static/stats.js (Apache ECharts, vendored) from the JSON in a data attribute."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template
from msgspec import structs

from core.errors import DomainError, MalformedRequest
from core.principal import ROLE_NAMES_ZH
from core.schemas import CHANNEL_ZH
from core.services import departments, sector, stats, tenants
from core.services.scope import Scope
from core.services.stats import StatsOut
from core.web.auth import CallerScope, requires_staff

FIGURES = (
    ("batches", "登记批次", "件"),
    ("persons", "人次", "人"),
    ("group_batches", "集体访", "批"),
    ("first_contact_closed", "一次性办结", "件"),
    ("repeat_batches", "重复访", "件"),
    ("not_accepted", "不予受理", "件"),
    ("accepted", "受理（含接收转送）", "件"),
    ("closed", "办结", "件"),
    ("closed_on_time", "按期办结", "件"),
    ("overdue_open", "超期未结", "件"),
)
RATES = (
    ("closure_rate", "办结率"),
    ("on_time_rate", "按期办结率"),
    ("first_contact_rate", "一次性办结率"),
    ("repeat_rate", "重复访率"),
)


async def _chrome(sc: Scope) -> dict[str, Any]:
    """The page frame: the tenant and who is logged in."""
    return {
        "tenant": await tenants.get_tenant(sc),
        "user": sc.actor,
        "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(sc.actor.roles)],
    }


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _int_or_none(value: str | None, field: str) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 12:
        raise MalformedRequest("invalid_id", "请选择列表中的部门。", field=field)
    return int(text)


def _charts(out: StatsOut) -> str:
    """What stats.js draws: per chart its labels and series (the tables show the same)."""

    def rows(buckets: list[stats.Bucket]) -> dict[str, Any]:
        return {
            "labels": [b.label for b in buckets],
            "batches": [b.batches for b in buckets],
            "persons": [b.persons for b in buckets],
            "closed": [b.closed for b in buckets],
        }

    return json.dumps(
        {
            "month": rows(out.by_month),
            "category": rows(out.by_category),
            "department": rows(out.by_department),
            "channel": rows(out.by_channel),
        },
        ensure_ascii=False,
    )


@get("/stats", include_in_schema=False, guards=[requires_staff])
async def stats_page(
    sc: CallerScope,
    start: Annotated[str | None, QueryParameter(name="from", max_length=32)] = None,
    end: Annotated[str | None, QueryParameter(name="to", max_length=32)] = None,
    department_id: FromQuery[str | None] = None,
    category: FromQuery[str | None] = None,
    channel: FromQuery[str | None] = None,
) -> Template:
    chrome = await _chrome(sc)
    values = {
        "from": start or "",
        "to": end or "",
        "department_id": department_id or "",
        "category": category or "",
        "channel": channel or "",
    }
    errors: dict[str, str] = {}
    status = 200
    out: StatsOut | None = None
    try:
        q = stats.make_query(
            sc,
            start=start,
            end=end,
            department_id=_int_or_none(department_id, "department_id"),
            category=category,
            channel=channel,
        )
        out = await stats.compute(sc, q)
        values["from"], values["to"] = q.start.isoformat(), q.end.isoformat()
    except DomainError as exc:
        errors[exc.field or "from"] = exc.message
        status = exc.status  # 400 a bad value; 404 another organization's department
    context = {
        **chrome,
        "values": values,
        "errors": errors,
        "out": out,
        "figures": [(label, getattr(out, name), unit) for name, label, unit in FIGURES]
        if out
        else [],
        "rates": [(label, pct(getattr(out.rates, name))) for name, label in RATES] if out else [],
        "pct": pct,
        "charts": _charts(out) if out else "{}",
        "satisfaction": structs.asdict(out.satisfaction) if out else {},
        "departments": await departments.list_departments(sc),
        "categories": await sector.categories(sc, chrome["tenant"]),
        "channels": CHANNEL_ZH,
    }
    return Template("stats/index.html", context=context, status_code=status)


STATS_PAGES = [stats_page]
