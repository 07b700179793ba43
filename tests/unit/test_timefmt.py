"""Times shown to people are Asia/Shanghai whatever the value's zone or the host's TZ."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.links import absolute, case_url
from core.timefmt import iso, zh_date, zh_datetime, zh_time

UTC_2159 = datetime(2026, 8, 31, 21, 59, tzinfo=UTC)  # 05:59 on 09-01 in Beijing


@pytest.fixture(autouse=True)
def utc_host() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize(
    "value",
    [
        UTC_2159,
        UTC_2159.replace(tzinfo=None),  # naive values from storage are UTC
        UTC_2159.astimezone(timezone(timedelta(hours=-5))),
        "2026-08-31T21:59:00+00:00",
        "2026-09-01T05:59:00+08:00",
    ],
)
def test_every_zone_is_shown_in_shanghai(value: datetime | str) -> None:
    assert zh_datetime(value) == "2026年9月1日 05:59"
    assert zh_date(value) == "2026年9月1日"
    assert zh_time(value) == "05:59"
    assert iso(value) == "2026-09-01T05:59:00+08:00"


def test_dates_weekdays_seconds_and_blanks() -> None:
    assert zh_date(date(2026, 12, 8), weekday=True) == "2026年12月8日（周二）"
    assert zh_date("2027-01-06") == "2027年1月6日"
    assert zh_datetime(UTC_2159, seconds=True) == "2026年9月1日 05:59:00"
    assert zh_datetime(None) == zh_date("") == zh_time(None) == "—"


def test_links_are_built_in_one_place() -> None:
    assert case_url(42) == "/cases/42"
    assert absolute("https://xf.example.org/", "/cases/42") == "https://xf.example.org/cases/42"
    assert absolute("https://xf.example.org", "https://other/x") == "https://other/x"
