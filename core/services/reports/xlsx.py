"""Excel workbooks (openpyxl) the way every report here looks: a title row across the
table (the organization and the period), a bold header row frozen under it, column
widths set for Chinese text, long text wrapped."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TITLE = 31
"""Excel's limit on a sheet name."""


@dataclass
class Column:
    header: str
    width: float
    """In Excel's character units (a Chinese character takes about two)."""
    wrap: bool = False


@dataclass
class Sheet:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    """A line under the table (e.g. how a column is derived)."""


def sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name Excel accepts (no []:*?/\\, at most 31 characters), unique."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "Sheet"
    base = base[:MAX_TITLE]
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"({n})"
        candidate, n = base[: MAX_TITLE - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


def _build(sheets: list[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    taken: set[str] = set()
    for sheet in sheets:
        ws = wb.create_sheet(sheet_name(sheet.name, taken))
        width = len(sheet.columns)
        ws.cell(row=1, column=1, value=sheet.title).font = Font(bold=True, size=14)
        ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
        if width > 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.row_dimensions[1].height = 28
        for i, col in enumerate(sheet.columns, 1):
            cell = ws.cell(row=2, column=i, value=col.header)
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDE4EE")
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = border
            ws.column_dimensions[get_column_letter(i)].width = col.width
        wraps = [Alignment(vertical="top", wrap_text=c.wrap) for c in sheet.columns]
        for r, row in enumerate(sheet.rows, 3):
            for i, value in enumerate(row, 1):
                cell = ws.cell(row=r, column=i, value=value)
                cell.alignment = wraps[i - 1]
                cell.border = border
        if sheet.note:
            ws.cell(row=len(sheet.rows) + 4, column=1, value=sheet.note).font = Font(
                italic=True, size=9
            )
        ws.freeze_panes = "A3"
        ws.print_title_rows = "1:2"
        ws.page_setup.orientation = "landscape"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def workbook(sheets: list[Sheet]) -> bytes:
    """The .xlsx of ``sheets`` (built in a worker thread: tens of thousands of rows take
    seconds)."""
    return await anyio.to_thread.run_sync(_build, sheets)
