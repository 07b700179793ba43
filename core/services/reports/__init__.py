"""Reports and exports as files: the monthly 矛盾纠纷排查表 (``screening``), the annual
work report (``annual``, Excel and PDF) and the case list as Excel (``export``);
``xlsx`` is how every workbook looks."""

from core.services.reports.annual import annual_pdf, annual_report
from core.services.reports.export import MAX_ROWS, export_cases
from core.services.reports.screening import parse_month, risk_level, screening_sheet
from core.services.reports.xlsx import XLSX

__all__ = [
    "MAX_ROWS",
    "XLSX",
    "annual_pdf",
    "annual_report",
    "export_cases",
    "parse_month",
    "risk_level",
    "screening_sheet",
]
