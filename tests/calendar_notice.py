"""A complete-looking 2027 State Council holiday notice (test data, not the real one):
calendar import refuses files that cannot be a whole year's notice."""

from __future__ import annotations

from datetime import date, timedelta


def _span(first: str, days: int, name: str) -> list[str]:
    start = date.fromisoformat(first)
    return [f"{start + timedelta(days=i)},holiday,{name}" for i in range(days)]


ROWS_2027 = [
    *_span("2027-01-01", 3, "元旦"),
    *_span("2027-02-05", 8, "春节"),
    "2027-02-14,workday,春节调休上班",
    "2027-02-20,workday,春节调休上班",
    *_span("2027-04-03", 3, "清明节"),
    "2027-04-25,workday,劳动节调休上班",
    *_span("2027-05-01", 5, "劳动节"),
    "2027-05-08,workday,劳动节调休上班",
    "2027-06-09,holiday,端午节",
    "2027-09-15,holiday,中秋节",
    "2027-09-26,workday,国庆节调休上班",
    *_span("2027-10-01", 7, "国庆节"),
    "2027-10-09,workday,国庆节调休上班",
]


def notice_2027_csv(*extra: str) -> str:
    """The notice as CSV, with ``extra`` rows (``date,kind,name``) appended."""
    return "date,kind,name\n" + "\n".join([*ROWS_2027, *extra]) + "\n"
