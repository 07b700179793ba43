"""Excel workbooks (openpyxl, write-only) the way every report here looks: a title row
(the organization and the period), a bold header row frozen under it, column widths set
for Chinese text, long text wrapped."""

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
    # Write-only: rows are streamed out, so 50,000 rows take seconds, not half a minute.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    title_font = Font(bold=True, size=14)
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    header_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    taken: set[str] = set()
    for sheet in sheets:
        ws = wb.create_sheet(sheet_name(sheet.name, taken))
        for i, col in enumerate(sheet.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        ws.freeze_panes = "A3"
        ws.print_title_rows = "1:2"
        ws.page_setup.orientation = "landscape"
        title = WriteOnlyCell(ws, value=sheet.title)
        title.font = title_font
        ws.append([title])
        headers = []
        for col in sheet.columns:
            cell = WriteOnlyCell(ws, value=col.header)
            cell.font, cell.fill, cell.alignment = header_font, header_fill, header_align
            headers.append(cell)
        ws.append(headers)
        wrapped = [i for i, c in enumerate(sheet.columns) if c.wrap]
        for row in sheet.rows:
            values: list[Any] = list(row)
            for i in wrapped:
                if isinstance(values[i], str) and len(values[i]) * 2 > sheet.columns[i].width:
                    cell = WriteOnlyCell(ws, value=values[i])
                    cell.alignment = wrap
                    values[i] = cell
            ws.append(values)
        if sheet.note:
            note = WriteOnlyCell(ws, value=sheet.note)
            note.font = Font(italic=True, size=9)
            ws.append([])
            ws.append([note])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def workbook(sheets: list[Sheet]) -> bytes:
    """The .xlsx of ``sheets`` (built in a worker thread: tens of thousands of rows take
    seconds)."""
    return await anyio.to_thread.run_sync(_build, sheets)
