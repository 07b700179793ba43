"""The case list as Excel (``GET /api/v1/cases.xlsx``): the list's own filters
(``cases.search.parse_filter``, the same refusals) and its own query, every matching
row at once up to ``MAX_ROWS``.

Personal data is masked (the name to its first character, the ID number and phone as
the list shows them). ``clear`` puts them in clear — for 督查督办 and administrators
only (one person's numbers are revealed case by case with a reason, ``reveal``; a
whole list in clear is an oversight task) — and writes an ``export.clear`` audit row
naming the export, the row count and the fields, never the values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.db.tables import Visitor
from core.domain.identity import mask_name
from core.domain.lifecycle import status_zh
from core.errors import MalformedRequest, PermissionDenied
from core.schemas import CHANNEL_ZH
from core.services import audit, departments, sector
from core.services.cases import reading, search
from core.services.reports.xlsx import Column, Sheet, workbook
from core.services.scope import Scope
from core.services.tenants import get_tenant
from core.settings import TIMEZONE
from core.timefmt import zh_date, zh_datetime

MAX_ROWS = 50_000
CLEAR_ROLES = ("supervisor", "admin")
CLEAR_FIELDS = ("visitor.id_number", "visitor.name", "visitor.phone")
CHUNK = 500
"""Visitors decrypted per query (SQLite's limit on bound values)."""
COLUMNS = [
    Column("登记编号", 18),
    Column("登记时间", 20),
    Column("来源", 8),
    Column("信访人", 12),
    Column("身份证号码", 22),
    Column("联系电话", 16),
    Column("人数", 6),
    Column("问题类别", 14, wrap=True),
    Column("问题属地", 20, wrap=True),
    Column("承办部门", 14),
    Column("状态", 12),
    Column("办结日期", 15),
]


async def _clear_numbers(scope: Scope, visitor_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(ID number, phone) in clear of each person (inside the caller's transaction)."""
    keys = scope.rt.keys
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(visitor_ids), CHUNK):
        rows = await scope.select(
            Visitor, Visitor.id, Visitor.id_number_enc, Visitor.phone_enc
        ).where(Visitor.id.is_in(visitor_ids[i : i + CHUNK]))
        for r in rows:
            id_number = r["id_number_enc"]
            phone = r["phone_enc"]
            out[r["id"]] = (
                keys.decrypt(id_number, context="visitor.id_number") if id_number else "",
                keys.decrypt(phone, context="visitor.phone") if phone else "",
            )
    return out


async def export_cases(
    scope: Scope, raw: Mapping[str, str | None], *, clear: bool = False
) -> tuple[str, bytes, int]:
    """(file name, .xlsx, rows) of the case list with the filters ``raw`` (text, as the
    list takes them). 403 ``clear_not_allowed`` (field ``clear``) for a clear export by
    another role; 400 ``too_many_rows`` past ``MAX_ROWS``."""
    if clear and not scope.actor.has_any(*CLEAR_ROLES):
        raise PermissionDenied(
            "clear_not_allowed",
            "导出完整信息（clear=1）需要督查督办或系统管理员角色；其他人员导出的表格已脱敏。",
            field="clear",
        )
    async with scope.tx(write=False):
        tenant = await get_tenant(scope)
        f = await search.parse_filter(scope, tenant, raw)
        today = await search.today_of(scope, tenant)
        rows: list[dict[str, Any]] = await reading.list_query(
            scope, f, today, after=None, limit=MAX_ROWS
        )
        if len(rows) > MAX_ROWS:
            raise MalformedRequest(
                "too_many_rows",
                f"符合条件的事项超过 {MAX_ROWS} 件，请缩小筛选范围（如登记日期）后再导出。",
            )
        numbers = (
            await _clear_numbers(scope, sorted({r["visitor_id"] for r in rows})) if clear else {}
        )
    dept_names = {d.id: d.name for d in await departments.list_departments(scope)}
    category_zh = {c.code: c.title_zh for c in await sector.categories(scope, tenant)}
    lines = []
    for r in rows:
        name = r["visitor_id.name"] or ""
        if clear:
            id_number, phone = numbers.get(r["visitor_id"], ("", ""))
        else:
            name = mask_name(name)
            id_number = r["visitor_id.id_number_masked"] or ""
            phone = r["visitor_id.phone_masked"] or ""
        lines.append(
            [
                r["receipt_code"],
                zh_datetime(r["received_at"]),
                CHANNEL_ZH.get(r["channel"], r["channel"]),
                name,
                id_number,
                phone,
                r["headcount"],
                category_zh.get(r["category"], r["category"]),
                r["locality"],
                dept_names.get(r["department_id"], "") if r["department_id"] else "",
                status_zh(r["status"]),
                zh_date(r["closed_at"]) if r["closed_at"] else "",
            ]
        )
    now = scope.rt.clock.now().astimezone(TIMEZONE)
    title = f"{tenant.name} 信访事项清单（导出于 {zh_datetime(now)}，共 {len(lines)} 件）"
    note = "含完整个人信息，请妥善保管。" if clear else "个人信息已脱敏。"
    sheet = Sheet(name="信访事项", title=title, columns=COLUMNS, rows=lines, note=note)
    content = await workbook([sheet])
    if clear:
        async with scope.tx():
            await audit.record_export(
                scope, what="export:cases.xlsx", rows=len(lines), fields=list(CLEAR_FIELDS)
            )
    stamp = now.strftime("%Y%m%d-%H%M")
    return f"信访事项-{stamp}{'-完整' if clear else ''}.xlsx", content, len(lines)
