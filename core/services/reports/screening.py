"""矛盾纠纷排查表: the month's matters per department, as Excel.

One sheet per department (the one handling the matter now; 「未分派」 for matters no
department holds yet), one row per matter registered in the month (Shanghai dates) that
the reader may see: receipt code, date received, the parties (names masked, never an ID
number or phone), category, cause, risk level, the measures taken (the handling steps
so far, dated), the responsible person (the handler), the deadline (the decision clock's
due day) and the status.

Risk level (风险等级), from the matter's flags on the day the sheet is made:

- 高: a group visit (集体访), or a repeat visit (重复访) whose deadline has passed;
- 中: a repeat visit, a long-standing petitioner (上访老户), or a deadline passed;
- 低: anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core.db.tables import CaseDeadline, CaseEvent, CaseParticipant, PetitionCase, StaffUser
from core.domain.identity import mask_name
from core.domain.lifecycle import ACTIONS, status_zh
from core.errors import MalformedRequest
from core.services import departments, sector
from core.services.lifecycle.context import DECISION_CLOCKS
from core.services.reports.xlsx import Column, Sheet, workbook
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.services.visibility import hidden_from
from core.settings import TIMEZONE
from core.timefmt import zh_date

MAX_ROWS = 50_000
CAUSE_CHARS = 120
UNASSIGNED = "未分派"
RISK_RULE = (
    "风险等级：集体访，或重复访且已超期为“高”；重复访、上访老户或已超期为“中”；其余为“低”。"
    "当事人姓名已脱敏，不含身份证号码和联系电话。"
)
COLUMNS = [
    Column("序号", 6),
    Column("登记编号", 18),
    Column("登记日期", 15),
    Column("当事人", 16, wrap=True),
    Column("问题类别", 12, wrap=True),
    Column("主要事由", 40, wrap=True),
    Column("风险等级", 9),
    Column("已采取措施", 40, wrap=True),
    Column("责任人", 10),
    Column("办理期限", 15),
    Column("状态", 10),
]


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first(self) -> date:
        return (self.first + timedelta(days=32)).replace(day=1)

    def label(self) -> str:
        return f"{self.year}年{self.month}月"


def parse_month(text: str | None) -> Month:
    """``YYYY-MM`` (400 ``invalid_month`` naming ``month`` otherwise)."""
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", (text or "").strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise MalformedRequest("invalid_month", "月份格式应为 YYYY-MM，如 2026-09。", field="month")
    return Month(int(m.group(1)), int(m.group(2)))


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TIMEZONE)


def risk_level(*, group: bool, repeat: bool, veteran: bool, overdue: bool) -> str:
    """The rule in the module's docstring (and the sheet's note)."""
    if group or (repeat and overdue):
        return "高"
    if repeat or veteran or overdue:
        return "中"
    return "低"


async def _related(scope: Scope, ids: list[int]) -> tuple[Any, Any, Any]:
    """Representatives, handling events and decision clocks of the matters (in the tx)."""
    if not ids:
        return [], [], []
    people = await scope.select(
        CaseParticipant, CaseParticipant.case_id, CaseParticipant.name
    ).where(CaseParticipant.case_id.is_in(ids))
    events = (
        await scope.select(CaseEvent, CaseEvent.case_id, CaseEvent.kind, CaseEvent.at)
        .where(CaseEvent.case_id.is_in(ids) & CaseEvent.kind.is_in(sorted(ACTIONS)))
        .order_by(CaseEvent.id)
    )
    clocks = (
        await scope.select(
            CaseDeadline, CaseDeadline.case_id, CaseDeadline.clock, CaseDeadline.due,
            CaseDeadline.state,
        )
        .where(CaseDeadline.case_id.is_in(ids) & CaseDeadline.state.is_in(["open", "met"]))
        .order_by(CaseDeadline.id)
    )  # fmt: skip
    return people, events, clocks


async def screening_sheet(scope: Scope, month: Month) -> tuple[str, bytes]:
    """(file name, .xlsx) of the month's 矛盾纠纷排查表 for the reader's organization."""
    tenant = await get_tenant(scope)
    today = scope.rt.clock.now().astimezone(TIMEZONE).date()
    async with scope.tx(write=False):
        rows = (
            await scope.select(
                PetitionCase,
                PetitionCase.id,
                PetitionCase.receipt_code,
                PetitionCase.received_at,
                PetitionCase.visitor_id.name,
                PetitionCase.headcount,
                PetitionCase.is_group,
                PetitionCase.visit_kind,
                PetitionCase.category,
                PetitionCase.cause,
                PetitionCase.flags,
                PetitionCase.status,
                PetitionCase.department_id,
                PetitionCase.assignee_id,
            )
            .where(
                (PetitionCase.received_at >= _start(month.first))
                & (PetitionCase.received_at < _start(month.next_first))
                & PetitionCase.id.not_in(hidden_from(scope.actor))
            )
            .order_by(PetitionCase.received_at)
            .order_by(PetitionCase.id)
            .limit(MAX_ROWS + 1)
            .output(load_json=True)
        )
        if len(rows) > MAX_ROWS:
            raise MalformedRequest(
                "too_many_rows",
                f"该月事项超过 {MAX_ROWS} 件，无法生成一个排查表。",
                field="month",
            )
        ids = [r["id"] for r in rows]
        people, events, clocks = await _related(scope, ids)
        names = dict(
            [
                (u["id"], u["display_name"])
                for u in await scope.select(StaffUser, StaffUser.id, StaffUser.display_name)
            ]
        )
    dept_names = {d.id: d.name for d in await departments.list_departments(scope)}
    category_zh = {c.code: c.title_zh for c in await sector.categories(scope, tenant)}
    others: dict[int, list[str]] = {}
    for p in people:
        others.setdefault(p["case_id"], []).append(mask_name(p["name"]))
    measures: dict[int, list[str]] = {}
    for e in events:
        measures.setdefault(e["case_id"], []).append(
            f"{zh_date(e['at'])} {ACTIONS[e['kind']].title_zh}"
        )
    due: dict[int, date] = {}
    overdue: set[int] = set()
    for c in clocks:
        if c["clock"] in DECISION_CLOCKS:
            due[c["case_id"]] = c["due"]  # the latest decision clock
        if c["state"] == "open" and c["due"] < today:
            overdue.add(c["case_id"])

    by_dept: dict[int | None, list[list[Any]]] = {}
    for r in rows:
        cid = r["id"]
        parties = [mask_name(r["visitor_id.name"] or ""), *others.get(cid, [])]
        party = "、".join(p for p in dict.fromkeys(parties) if p)
        if r["headcount"] > 1:
            party += f"等{r['headcount']}人"
        cause = " ".join((r["cause"] or "").split())
        flags = r["flags"] or {}
        risk = risk_level(
            group=bool(r["is_group"]),
            repeat=r["visit_kind"] == "repeat",
            veteran=bool(flags.get("veteran")),
            overdue=cid in overdue,
        )
        line = by_dept.setdefault(r["department_id"], [])
        line.append(
            [
                len(line) + 1,
                r["receipt_code"],
                zh_date(r["received_at"]),
                party,
                category_zh.get(r["category"], r["category"]),
                cause[:CAUSE_CHARS] + ("……" if len(cause) > CAUSE_CHARS else ""),
                risk,
                "；".join(measures.get(cid, [])) or "登记在案，尚无办理措施",
                names.get(r["assignee_id"], "") if r["assignee_id"] else "",
                zh_date(due[cid]) if cid in due else "",
                status_zh(r["status"]),
            ]
        )
    title = f"{tenant.name} {month.label()}矛盾纠纷排查表"
    order = sorted(by_dept, key=lambda d: (d is None, dept_names.get(d, "") if d else ""))
    sheets = [
        Sheet(
            name=dept_names.get(d, UNASSIGNED) if d is not None else UNASSIGNED,
            title=f"{title}（{dept_names.get(d, UNASSIGNED) if d is not None else UNASSIGNED}）",
            columns=COLUMNS,
            rows=by_dept[d],
            note=RISK_RULE,
        )
        for d in order
    ] or [Sheet(name="本月无事项", title=title, columns=COLUMNS, note="本月没有登记的事项。")]
    filename = f"矛盾纠纷排查表-{month.year}-{month.month:02d}.xlsx"
    return filename, await workbook(sheets)
