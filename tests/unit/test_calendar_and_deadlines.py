"""The working-day calendar against the State Council facts in DOMAIN.md, the rule
packs, and the deadline counting rules — examples and properties."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.deadlines import compute_deadline, parse_pause
from core.domain.rulepacks import REQUIRED_CLOCKS
from core.domain.workcalendar import WorkCalendar, parse_calendar_import
from core.errors import InvalidInput
from core.rulepacks import available_packs, load_pack
from tests.calendar_notice import ROWS_2027, notice_2027_csv

CAL = WorkCalendar.from_chinese_calendar()
CN = load_pack("cn-2022")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-09-28", True),  # Sunday, make-up working day
        ("2025-10-01", False),
        ("2025-10-08", False),
        ("2025-10-09", True),
        ("2025-10-11", True),  # Saturday, make-up
        ("2026-02-14", True),  # Saturday, make-up
        ("2026-02-15", False),
        ("2026-02-23", False),
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday, make-up
        ("2026-05-01", False),
        ("2026-05-05", False),
        ("2026-05-09", True),  # Saturday, make-up
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-10", True),  # Saturday, make-up
        ("2026-10-11", False),  # an ordinary Sunday
    ],
)
def test_official_calendar_facts(day: str, working: bool) -> None:
    assert CAL.is_workday(date.fromisoformat(day)) is working
    assert not CAL.is_provisional(date.fromisoformat(day))


def test_unimported_year_is_provisional_weekends_only() -> None:
    assert CAL.is_provisional(date(2027, 1, 1))
    assert CAL.is_workday(date(2027, 1, 1))  # New Year unknown until imported
    assert not CAL.is_workday(date(2027, 1, 2))  # Saturday


def test_every_pack_defines_every_clock() -> None:
    assert {"cn-2022", "zhejiang", "grassroots-practice"} <= set(available_packs())
    for name in available_packs():
        pack = load_pack(name)
        assert set(REQUIRED_CLOCKS) <= set(pack.clocks), name
    assert CN.clock("handle").days == 60 and CN.clock("objection").mode == "working"
    assert load_pack("zhejiang").clock("handle").days == 30
    zj = load_pack("zhejiang")
    assert (zj.representative_limit(8), zj.representative_limit(20)) == (3, 5)
    assert CN.representative_limit(8) == 5
    assert load_pack("grassroots-practice").clock("handle_assigned").days == 90


def test_a_pack_file_can_be_added_without_code(tmp_path: Path) -> None:
    text = (Path("core/rulepacks/packs/cn-2022.toml")).read_text(encoding="utf-8")
    text = text.replace('name = "cn-2022"', 'name = "shandong"').replace(
        '[clocks.accept]\ndays = 15\nmode = "calendar"',
        '[clocks.accept]\ndays = 3\nmode = "working"',
    )
    (tmp_path / "shandong.toml").write_text(text, encoding="utf-8")
    pack = load_pack("shandong", extra_dirs=[tmp_path])
    assert pack.clock("accept").days == 3 and pack.clock("accept").mode == "working"
    assert "shandong" in available_packs([tmp_path])


def test_broken_pack_is_refused_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        'name = "bad"\nversion = "1"\ntitle_zh = "x"\n[clocks.handle]\ndays = 60\nmode = "lunar"\n'
    )
    with pytest.raises(InvalidInput) as err:
        load_pack("bad", extra_dirs=[tmp_path])
    assert err.value.code == "invalid_rule_pack" and "clocks.handle.mode" in err.value.message
    with pytest.raises(InvalidInput) as err:
        load_pack("nope")
    assert err.value.code == "unknown_rule_pack"


@pytest.mark.parametrize(
    ("old", "new", "field", "why"),
    [
        (
            "[clocks.handle]\ndays = 60",
            "[clocks.handle]\ndays = 0",
            "clocks.handle.days",
            "不能小于 1",
        ),
        (
            "[clocks.handle]\ndays = 60",
            "[clocks.handle]\ndays = true",
            "clocks.handle.days",
            "整数",
        ),
        ("[clocks.handle]\ndays = 60", "[clocks.handle]\nday = 60", "clocks.handle.day", "不认识"),
        ('version = "2022.1"', 'version = ""', "version", "至少需要 1 个字符"),
        ("min_headcount = 5", "min_headcount = 1", "group_visit.min_headcount", "不能小于 2"),
        (
            "similarity_threshold = 70",
            "similarity_threshold = 170",
            "repeat.similarity_threshold",
            "不能大于 100",
        ),
        (
            "[extension]\nmax_count = 1",
            "[extension]\nmax_count = -1",
            "extension.max_count",
            "不能小于 0",
        ),
        ("[clocks.notify]", "[clocks.notified]", "clocks", "缺少期限：notify"),
    ],
)
def test_a_broken_pack_names_file_key_and_reason(
    tmp_path: Path, old: str, new: str, field: str, why: str
) -> None:
    text = Path("core/rulepacks/packs/cn-2022.toml").read_text(encoding="utf-8")
    assert old in text
    bad = text.replace('name = "cn-2022"', 'name = "typo"').replace(old, new, 1)
    (tmp_path / "typo.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_pack("typo", extra_dirs=[tmp_path])
    assert (err.value.code, err.value.field) == ("invalid_rule_pack", field)
    assert "typo.toml" in err.value.message and field in err.value.message
    assert why in err.value.message, err.value.message


def test_a_pack_marks_the_windows_that_belong_to_the_petitioner(tmp_path: Path) -> None:
    text = Path("core/rulepacks/packs/cn-2022.toml").read_text(encoding="utf-8")
    local = text.replace('name = "cn-2022"', 'name = "local"').replace(
        '[clocks.objection]\ndays = 5\nmode = "working"',
        '[clocks.objection]\ndays = 5\nmode = "working"\npetitioner = true',
    )
    (tmp_path / "local.toml").write_text(local, encoding="utf-8")
    assert load_pack("local", extra_dirs=[tmp_path]).petitioner_windows == {
        "review_request",
        "rereview_request",
        "objection",
    }
    assert not CN.clock("handle").petitioner and CN.clock("review_request").petitioner
    broken = text.replace('name = "cn-2022"', 'name = "broken"').replace(
        "petitioner = true", 'petitioner = "yes"', 1
    )
    (tmp_path / "broken.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_pack("broken", extra_dirs=[tmp_path])
    assert err.value.field == "clocks.review_request.petitioner"


def test_calendar_days_start_day_not_counted_and_rest_day_rolls_forward() -> None:
    d = compute_deadline(CN, "accept", date(2026, 9, 16), CAL)
    # 15th day is 2026-10-01 (National Day) → first working day after the holiday.
    assert d.due == date(2026, 10, 8)
    assert any("顺延" in s for s in d.steps)
    d = compute_deadline(CN, "handle", date(2026, 9, 16), CAL)
    assert d.due == date(2026, 11, 16)  # day 60 is Sunday 11-15
    assert (d.pack, d.version, d.mode, d.provisional) == ("cn-2022", "2022.1", "calendar", False)


def test_working_days_use_makeup_saturdays() -> None:
    d = compute_deadline(CN, "objection", date(2026, 9, 28), CAL)
    assert d.due == date(2026, 10, 10)  # 29, 30, Oct 8, 9, Sat 10 (调休)
    d = compute_deadline(CN, "objection", date(2026, 2, 12), CAL)
    # 13 (Fri), 14 (Sat, make-up), then the Spring Festival to the 23rd, 24, 25, 26.
    assert d.due == date(2026, 2, 26)


def test_pauses_are_excluded() -> None:
    base = compute_deadline(CN, "handle", date(2026, 9, 16), CAL)
    paused = compute_deadline(
        CN, "handle", date(2026, 9, 16), CAL, [parse_pause("2026-09-20:2026-09-22")]
    )
    assert paused.due == date(2026, 11, 18) and base.due == date(2026, 11, 16)
    before = compute_deadline(
        CN, "handle", date(2026, 9, 16), CAL, [parse_pause("2026-09-01:2026-09-10")]
    )
    assert before.due == base.due


def test_deadline_touching_unknown_year_is_provisional_and_says_so() -> None:
    d = compute_deadline(CN, "handle", date(2026, 12, 1), CAL)
    assert d.provisional and any("2027" in s and "临时" in s for s in d.steps)
    cal = CAL.with_year(2027, [])
    assert not compute_deadline(CN, "handle", date(2026, 12, 1), cal).provisional


def test_bad_pause_and_unknown_clock_are_clear_errors() -> None:
    for text in ("2026-09-22:2026-09-20", "yesterday", "2026-02-30:2026-03-01"):
        with pytest.raises(InvalidInput) as err:
            parse_pause(text)
        assert err.value.field == "paused"
    with pytest.raises(InvalidInput) as err:
        compute_deadline(CN, "lunch", date(2026, 1, 5), CAL)
    assert err.value.code == "unknown_clock" and "handle" in err.value.message


def test_calendar_import_formats_and_errors() -> None:
    year, entries = parse_calendar_import(notice_2027_csv(), "csv")
    assert year == 2027 and len(entries) == len(ROWS_2027)
    cal = CAL.with_year(year, entries)
    assert not cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 2, 20))
    days = [dict(zip(("date", "kind", "name"), r.split(","), strict=True)) for r in ROWS_2027]
    year, entries = parse_calendar_import(json.dumps({"year": 2027, "days": days}), "json")
    assert next(e for e in entries if e.day == date(2027, 10, 1)).name == "国庆节"
    for text, field in (
        ("date,kind\n2027-01-04,workday\n", "第 2 行.kind"),  # a Monday cannot be "make-up"
        ("date,kind\n2027-13-01,holiday\n", "第 2 行.date"),
        ("date,kind\n2027-01-01,holiday\n2028-01-01,holiday\n", "days"),
    ):
        with pytest.raises(InvalidInput) as err:
            parse_calendar_import(text, "csv")
        assert err.value.field == field


days_2004_2028 = st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 6, 30))
pause_st = st.tuples(days_2004_2028, st.integers(0, 20)).map(
    lambda p: (p[0], p[0] + timedelta(days=p[1]))
)


@settings(max_examples=200, deadline=None)
@given(start=days_2004_2028, clock=st.sampled_from(list(REQUIRED_CLOCKS)))
def test_every_deadline_lands_on_a_working_day_after_the_start(start: date, clock: str) -> None:
    d = compute_deadline(CN, clock, start, CAL)
    assert CAL.is_workday(d.due)
    assert d.due > start


@settings(max_examples=200, deadline=None)
@given(
    start=days_2004_2028,
    clock=st.sampled_from(["handle", "objection"]),
    pauses=st.lists(pause_st, max_size=3),
)
def test_adding_a_pause_never_makes_a_deadline_earlier(
    start: date, clock: str, pauses: list[tuple[date, date]]
) -> None:
    without = compute_deadline(CN, clock, start, CAL, pauses[:-1])
    with_all = compute_deadline(CN, clock, start, CAL, pauses)
    assert with_all.due >= without.due


@settings(max_examples=100, deadline=None)
@given(start=days_2004_2028)
def test_working_day_count_counts_exactly_n_working_days(start: date) -> None:
    d = compute_deadline(CN, "objection", start, CAL)
    counted = [
        start + timedelta(days=i)
        for i in range(1, (d.due - start).days + 1)
        if CAL.is_workday(start + timedelta(days=i))
    ]
    assert len(counted) == 5 and counted[-1] == d.due


def test_month_clocks_use_the_corresponding_day() -> None:
    from dataclasses import replace

    from core.domain.deadlines import add_months
    from core.domain.rulepacks import ClockRule

    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 31), 6) == date(2026, 9, 30)
    assert add_months(date(2026, 6, 1), 6) == date(2026, 12, 1)
    pack = replace(CN, clocks={**CN.clocks, "retrial": ClockRule("retrial", 6, "months", "再审")})
    d = compute_deadline(pack, "retrial", date(2026, 4, 1), CAL)
    assert d.due == date(2026, 10, 8) and d.mode == "months"  # 10-01 is National Day
    assert any("对应日" in s for s in d.steps)
    paused = compute_deadline(
        pack, "retrial", date(2026, 3, 1), CAL, [parse_pause("2026-03-02:2026-03-03")]
    )
    assert paused.due == date(2026, 9, 3)
