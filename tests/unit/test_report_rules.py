"""The rules the report files are built by: the 排查表's risk level and month, and
Excel sheet names."""

from __future__ import annotations

import pytest

from core.errors import MalformedRequest
from core.services.reports import parse_month, risk_level
from core.services.reports.xlsx import sheet_name


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ({}, "低"),
        ({"group": True}, "高"),
        ({"repeat": True, "overdue": True}, "高"),
        ({"repeat": True}, "中"),
        ({"veteran": True}, "中"),
        ({"overdue": True}, "中"),
        ({"veteran": True, "overdue": True}, "中"),
    ],
)
def test_risk_level(flags: dict[str, bool], level: str) -> None:
    args = {"group": False, "repeat": False, "veteran": False, "overdue": False, **flags}
    assert risk_level(**args) == level


def test_month() -> None:
    m = parse_month("2026-12")
    assert (m.first.isoformat(), m.next_first.isoformat()) == ("2026-12-01", "2027-01-01")
    assert m.label() == "2026年12月"
    for bad in ("2026-00", "2026-13", "2026-1", "0000-05", "", None, "2026-09-01", "２０２６-０９"):
        with pytest.raises(MalformedRequest) as err:
            parse_month(bad)
        assert err.value.field == "month"


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_name("信访/督查[一]", taken) == "信访_督查_一_"
    long = "很长的部门名称" * 10
    first, second = sheet_name(long, taken), sheet_name(long, taken)
    assert len(first) == len(second) == 31 and first != second and second.endswith("(2)")
