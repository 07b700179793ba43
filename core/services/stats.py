"""Statistics of matters registered in a period (批次/人次, 办结率, 按期办结率, 一次性办结率,
重复访率, 息访, 回访满意度) — definitions in docs/metrics.md.

One SQL statement does the counting: it reads the period's matters of the tenant (the
acting person's hidden 检举控告 left out), folds each matter's stored clocks into a few
facts (accepted on, handled on, closed late, overdue) and groups by month × category ×
department × channel with ``SUM(CASE WHEN …)``. The few hundred groups it answers are
then added up here into the totals and the four breakdowns: Python never sees a matter.
The statement runs on SQLite and PostgreSQL alike; only the date and JSON expressions
differ (``_Dialect``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from msgspec import Struct

from core.db import sql
from core.db.engine import is_postgres
from core.db.tables import Department
from core.errors import MalformedRequest, NotFound
from core.schemas import CHANNEL_ZH
from core.services import sector, tenants
from core.services.scope import Scope
from core.settings import TIMEZONE

MAX_DAYS = 3 * 366
"""The longest period asked for at once (three years): a trend of at most 37 months."""
SETTLE_MONTHS = 6
"""息访: months without a new matter of the same person after the closure (default)."""
HANDLE_CLOCKS = ("handle", "handle_assigned")
"""Clocks started by acceptance (受理, 接收转送): their start day is the acceptance day."""
DECISION_CLOCKS = ("handle", "handle_assigned", "extension")
"""Clocks the handling opinion meets: late when met after their due day."""
OVERDUE_CLOCKS = (
    "accept",
    "handle",
    "handle_assigned",
    "extension",
    "review_decide",
    "rereview_decide",
)
"""Clocks of the office's own decisions; one of them running past its due day makes an
open matter overdue (notice and objection windows are not the matter's handling)."""
OPEN_STATUSES = (
    "registered",
    "accepted",
    "transferring",
    "assignment_pending",
    "in_progress",
    "reported",
    "review",
    "rereview",
)
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
NO_DEPARTMENT = "未分派部门"


# ---- answers ------------------------------------------------------------------------


class Rates(Struct):
    """Shares as fractions 0–1; ``None`` when the denominator is 0."""

    closure_rate: float | None
    """办结率 = closed / (accepted + first_contact_closed)."""
    on_time_rate: float | None
    """按期办结率 = closed_on_time / closed."""
    first_contact_rate: float | None
    """一次性办结率 = first_contact_closed / batches."""
    repeat_rate: float | None
    """重复访率 = repeat_batches / batches."""


class Satisfaction(Struct):
    """回访满意度: the latest follow-up result of each matter."""

    followed_up: int
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    rate: float | None
    """(satisfied + basically_satisfied) / followed_up."""


class Settled(Struct):
    """息访: closed matters after which the same person registered nothing for ``months``."""

    months: int
    eligible: int
    """Closed matters whose ``months`` after closure have passed (the others cannot be
    judged yet)."""
    settled: int
    rate: float | None
    """settled / eligible."""


class Bucket(Struct):
    """One row of a breakdown: the counts of the matters with this key."""

    key: str
    """Month ``YYYY-MM``, category code, department id (``""``: none) or channel."""
    label: str
    batches: int
    persons: int
    group_batches: int
    first_contact_closed: int
    repeat_batches: int
    not_accepted: int
    accepted: int
    closed: int
    closed_on_time: int
    overdue_open: int


class StatsFilters(Struct):
    department_id: int | None
    category: str | None
    channel: str | None


class StatsOut(Struct):
    """Statistics of the matters registered from ``period_from`` to ``period_to``
    (inclusive, Asia/Shanghai dates); definitions in docs/metrics.md."""

    period_from: date
    period_to: date
    as_of: datetime
    """The moment overdue and 息访 were judged at."""
    filters: StatsFilters
    batches: int
    persons: int
    group_batches: int
    first_contact_closed: int
    repeat_batches: int
    not_accepted: int
    accepted: int
    closed: int
    closed_on_time: int
    overdue_open: int
    rates: Rates
    avg_handling_days: float | None
    """Mean days from acceptance to the handling opinion, over closed accepted matters."""
    satisfaction: Satisfaction
    settled: Settled
    by_month: list[Bucket]
    by_category: list[Bucket]
    by_department: list[Bucket]
    by_channel: list[Bucket]


COUNTS = (
    "batches",
    "persons",
    "group_batches",
    "first_contact_closed",
    "repeat_batches",
    "not_accepted",
    "accepted",
    "closed",
    "closed_on_time",
    "overdue_open",
)
SUMS = (
    *COUNTS,
    "handled",
    "handling_days",
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "settle_eligible",
    "settled",
)


# ---- the query ------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """What was asked, checked."""

    start: date
    end: date
    department_id: int | None = None
    category: str | None = None
    channel: str | None = None
    settle_months: int = SETTLE_MONTHS


def parse_period(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """The period from the query (``from``/``to``, YYYY-MM-DD); by default the last 12
    months to today. Refusals name the field (400)."""

    def one(value: str | None, field: str) -> date | None:
        if value is None or value == "":
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise MalformedRequest(
                "invalid_date", f"{field}：日期格式应为 YYYY-MM-DD。", field=field
            ) from None

    to_day = one(end, "to") or today
    from_day = one(start, "from") or _month_start(_add_months(to_day, -11))
    if from_day > to_day:
        raise MalformedRequest("invalid_period", "from：开始日期不能晚于结束日期。", field="from")
    if (to_day - from_day).days + 1 > MAX_DAYS:
        raise MalformedRequest(
            "period_too_long", f"to：统计期间不能超过 {MAX_DAYS} 天（三年）。", field="to"
        )
    return from_day, to_day


def make_query(
    scope: Scope,
    *,
    start: str | None = None,
    end: str | None = None,
    department_id: int | None = None,
    category: str | None = None,
    channel: str | None = None,
    settle_months: int = SETTLE_MONTHS,
) -> Query:
    """The checked query of the API and the page alike (dates as sent)."""
    today = scope.rt.clock.now().astimezone(TIMEZONE).date()
    first, last = parse_period(start, end, today=today)
    return Query(
        start=first,
        end=last,
        department_id=department_id,
        category=category or None,
        channel=channel or None,
        settle_months=settle_months,
    )


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1)


def _months(start: date, end: date) -> list[str]:
    out = []
    d = _month_start(start)
    while d <= end:
        out.append(f"{d.year:04d}-{d.month:02d}")
        d = _add_months(d, 1)
    return out


def _instant(d: date) -> datetime:
    """Midnight of a Shanghai day."""
    return datetime.combine(d, time(0), tzinfo=TIMEZONE)


class _Dialect:
    """The date and JSON expressions of each engine (Shanghai has no DST: +8 h)."""

    def __init__(self, postgres: bool) -> None:
        self.pg = postgres

    def local_date(self, col: str) -> str:
        if self.pg:
            return f"(({col}) AT TIME ZONE 'Asia/Shanghai')::date"
        return f"date({col}, '+8 hours')"

    def month(self, col: str) -> str:
        if self.pg:
            return f"to_char(({col}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        return f"strftime('%Y-%m', {col}, '+8 hours')"

    def days_between(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def satisfaction(self, col: str) -> str:
        if self.pg:
            return f"({col} ->> 'satisfaction')"
        return f"json_extract({col}, '$.satisfaction')"

    def true(self, col: str) -> str:
        return col if self.pg else f"({col} = 1)"


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _in(names: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{n}'" for n in names) + ")"


def _statement(scope: Scope, q: Query, now: datetime, today: date) -> tuple[str, list[Any]]:
    """The one aggregation over the period's matters, grouped by month × category ×
    department × channel. Literal names only in the text; every value is a parameter."""
    d = _Dialect(is_postgres())
    p = _Params()
    tid = p(scope.tenant_id)
    where = [
        f"c.tenant_id = {tid}",
        f"c.received_at >= {p(_instant(q.start))}",
        f"c.received_at < {p(_instant(q.end + timedelta(days=1)))}",
    ]
    if q.department_id is not None:
        where.append(f"c.department_id = {p(q.department_id)}")
    if q.category is not None:
        where.append(f"c.category = {p(q.category)}")
    if q.channel is not None:
        where.append(f"c.channel = {p(q.channel)}")
    who = scope.principal
    if who is not None:  # the accused never see the matter, nor count it (Art 30)
        named = [f"x.user_id = {p(who.user_id)}"]
        if who.department_id is not None:
            named.append(f"x.department_id = {p(who.department_id)}")
        refs = sorted(who.refs)
        if refs:
            named.append(f"x.staff_ref IN ({', '.join(p(r) for r in refs)})")
        where.append(
            "c.id NOT IN (SELECT x.case_id FROM case_exclusion x"
            f" WHERE x.tenant_id = {tid} AND x.kind = 'accused' AND ({' OR '.join(named)}))"
        )
    today_p = p(today)
    # The clocks of the same matters (a semi-join: a month's matters read only theirs).
    inner = re.sub(r"\bc\.", "c2.", " AND ".join(where))
    if d.pg:
        window_end = f"c.closed_at + make_interval(months => {p(q.settle_months)})"
        passed = f"{window_end} <= {p(now)}"
        later = f"n.received_at > c.closed_at AND n.received_at <= {window_end}"
    else:
        shift = p(f"+{q.settle_months} months")
        passed = f"julianday(c.closed_at, {shift}) <= julianday({p(now)})"
        later = (
            "julianday(n.received_at) > julianday(c.closed_at)"
            f" AND julianday(n.received_at) <= julianday(c.closed_at, {shift})"
        )
    # (A matter is never its own "new matter": it was received before it was closed.)
    closed = "(c.closed_at IS NOT NULL AND c.opinion <> '')"
    accepted = "(k.accepted_on IS NOT NULL)"
    handled = f"({closed} AND {accepted} AND k.handled_on IS NOT NULL)"
    settle_eligible = f"({closed} AND {passed})"
    satisfaction = d.satisfaction("c.flags")
    text = f"""
WITH k AS (
  SELECT t.case_id,
    MIN(CASE WHEN t.clock IN {_in(HANDLE_CLOCKS)} THEN t.started_on END) AS accepted_on,
    MAX(CASE WHEN t.clock IN {_in(DECISION_CLOCKS)} AND t.state = 'met'
        THEN {d.local_date("t.met_at")} END) AS handled_on,
    MAX(CASE WHEN t.clock IN {_in(DECISION_CLOCKS)} AND t.state = 'met'
        AND {d.local_date("t.met_at")} > t.due THEN 1 ELSE 0 END) AS late,
    MAX(CASE WHEN t.clock IN {_in(OVERDUE_CLOCKS)} AND t.state = 'open'
        AND t.due < {today_p} THEN 1 ELSE 0 END) AS overdue
  FROM case_deadline t
  WHERE t.tenant_id = {tid} AND t.clock IN {_in(OVERDUE_CLOCKS)}
    AND t.case_id IN (SELECT c2.id FROM petition_case c2 WHERE {inner})
  GROUP BY t.case_id
)
SELECT {d.month("c.received_at")} AS month, c.category, c.department_id, c.channel,
  COUNT(*) AS batches,
  SUM(c.headcount) AS persons,
  SUM(CASE WHEN {d.true("c.is_group")} THEN 1 ELSE 0 END) AS group_batches,
  SUM(CASE WHEN {d.true("c.first_contact_closed")} THEN 1 ELSE 0 END) AS first_contact_closed,
  SUM(CASE WHEN c.visit_kind = 'repeat' THEN 1 ELSE 0 END) AS repeat_batches,
  SUM(CASE WHEN c.opinion_at IS NOT NULL AND c.closed_at IS NULL THEN 1 ELSE 0 END)
    AS not_accepted,
  SUM(CASE WHEN {accepted} THEN 1 ELSE 0 END) AS accepted,
  SUM(CASE WHEN {closed} THEN 1 ELSE 0 END) AS closed,
  SUM(CASE WHEN {closed} AND COALESCE(k.late, 0) = 0 THEN 1 ELSE 0 END) AS closed_on_time,
  SUM(CASE WHEN c.status IN {_in(OPEN_STATUSES)} AND k.overdue = 1 THEN 1 ELSE 0 END)
    AS overdue_open,
  SUM(CASE WHEN {handled} THEN 1 ELSE 0 END) AS handled,
  SUM(CASE WHEN {handled} THEN {d.days_between("k.handled_on", "k.accepted_on")} ELSE 0 END)
    AS handling_days,
  SUM(CASE WHEN {satisfaction} = 'satisfied' THEN 1 ELSE 0 END) AS satisfied,
  SUM(CASE WHEN {satisfaction} = 'basically_satisfied' THEN 1 ELSE 0 END)
    AS basically_satisfied,
  SUM(CASE WHEN {satisfaction} = 'unsatisfied' THEN 1 ELSE 0 END) AS unsatisfied,
  SUM(CASE WHEN {settle_eligible} THEN 1 ELSE 0 END) AS settle_eligible,
  SUM(CASE WHEN {settle_eligible} AND NOT EXISTS (
        SELECT 1 FROM petition_case n
        WHERE n.tenant_id = {tid} AND n.visitor_id = c.visitor_id
          AND {later}) THEN 1 ELSE 0 END) AS settled
FROM petition_case c LEFT JOIN k ON k.case_id = c.id
WHERE {" AND ".join(where)}
GROUP BY 1, 2, 3, 4
"""
    return text, p.values


# ---- adding up ----------------------------------------------------------------------


def _zero() -> dict[str, int]:
    return dict.fromkeys(SUMS, 0)


def _add(into: dict[str, int], row: dict[str, Any]) -> None:
    for name in SUMS:
        into[name] += int(row[name] or 0)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _bucket(key: str, label: str, sums: dict[str, int]) -> Bucket:
    return Bucket(key=key, label=label, **{n: sums[n] for n in COUNTS})


def _breakdown(
    rows: list[dict[str, Any]], key: str, labels: dict[str, str], order: list[str] | None = None
) -> list[Bucket]:
    sums: dict[str, dict[str, int]] = {}
    for k in order or []:
        sums[k] = _zero()
    for row in rows:
        k = "" if row[key] is None else str(row[key])
        _add(sums.setdefault(k, _zero()), row)
    keys = list(sums) if order else sorted(sums, key=lambda k: -sums[k]["batches"])
    return [_bucket(k, labels.get(k, k or NO_DEPARTMENT), sums[k]) for k in keys]


async def check_filters(scope: Scope, q: Query) -> None:
    """A department of another organization is unknown here (404); a channel not one of
    the four is a bad value (400)."""
    if q.channel is not None and q.channel not in CHANNEL_ZH:
        raise MalformedRequest(
            "invalid_choice",
            f"channel：只能是 {'、'.join(f'{k}（{v}）' for k, v in CHANNEL_ZH.items())}。",
            field="channel",
        )
    if q.department_id is not None:
        async with scope.tx(write=False):
            found = await scope.exists(Department).where(Department.id == q.department_id)
        if not found:
            raise NotFound("department_not_found", "部门不存在。", field="department_id")


async def compute(scope: Scope, q: Query) -> StatsOut:
    """The statistics of the matters registered in ``q``'s period (the tenant's, as the
    acting person may see them)."""
    await check_filters(scope, q)
    now = scope.rt.clock.now()
    today = now.astimezone(TIMEZONE).date()
    text, params = _statement(scope, q, now, today)
    async with scope.tx(write=False):
        if is_postgres():
            # The planner's guess for the grouped join is far too high and makes it
            # compile the statement (JIT: ~0.8 s) for a query that runs in a fraction.
            await sql.execute("SET LOCAL jit = off")
            await sql.execute("SET LOCAL work_mem = '64MB'")
        rows = await sql.fetch(text, *params)
        depts = await scope.select(Department, Department.id, Department.name)
    tenant = await tenants.get_tenant(scope)
    cats = {c.code: c.title_zh for c in await sector.categories(scope, tenant)}
    total = _zero()
    for row in rows:
        _add(total, row)
    dept_names = {str(r["id"]): r["name"] for r in depts}
    return StatsOut(
        period_from=q.start,
        period_to=q.end,
        as_of=now,
        filters=StatsFilters(q.department_id, q.category, q.channel),
        **{n: total[n] for n in COUNTS},
        rates=Rates(
            closure_rate=_share(total["closed"], total["accepted"] + total["first_contact_closed"]),
            on_time_rate=_share(total["closed_on_time"], total["closed"]),
            first_contact_rate=_share(total["first_contact_closed"], total["batches"]),
            repeat_rate=_share(total["repeat_batches"], total["batches"]),
        ),
        avg_handling_days=(
            round(total["handling_days"] / total["handled"], 2) if total["handled"] else None
        ),
        satisfaction=Satisfaction(
            followed_up=sum(total[s] for s in SATISFACTION),
            satisfied=total["satisfied"],
            basically_satisfied=total["basically_satisfied"],
            unsatisfied=total["unsatisfied"],
            rate=_share(
                total["satisfied"] + total["basically_satisfied"],
                sum(total[s] for s in SATISFACTION),
            ),
        ),
        settled=Settled(
            months=q.settle_months,
            eligible=total["settle_eligible"],
            settled=total["settled"],
            rate=_share(total["settled"], total["settle_eligible"]),
        ),
        by_month=_breakdown(rows, "month", {}, _months(q.start, q.end)),
        by_category=_breakdown(rows, "category", cats),
        by_department=_breakdown(rows, "department_id", dept_names),
        by_channel=_breakdown(rows, "channel", CHANNEL_ZH, list(CHANNEL_ZH)),
    )
