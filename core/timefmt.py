"""How a time is shown to a person: always Asia/Shanghai, whatever the host's TZ.

Pages (Jinja filters ``zh_datetime`` / ``zh_date`` / ``zh_time``), messages, e-mails and
CLI lines all go through here, so a host running in UTC cannot print 21:59 for a visit
registered at 05:59 Beijing time. Both engines hand stored timestamps back in UTC; a
naive value is taken as UTC, which is how Piccolo stores them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.settings import TIMEZONE

EMPTY = "—"
_WEEKDAY_ZH = "一二三四五六日"


def shanghai(value: datetime | str) -> datetime:
    """``value`` as an aware datetime in Asia/Shanghai (ISO strings accepted)."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(TIMEZONE)


def _day(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return shanghai(value).date()
    if isinstance(value, str):
        return shanghai(value).date() if "T" in value or " " in value else date.fromisoformat(value)
    return value


def zh_date(value: date | datetime | str | None, *, weekday: bool = False) -> str:
    """「2026年9月1日」, optionally with 「（周二）」."""
    if value is None or value == "":
        return EMPTY
    d = _day(value)
    text = f"{d.year}年{d.month}月{d.day}日"
    return f"{text}（周{_WEEKDAY_ZH[d.weekday()]}）" if weekday else text


def zh_time(value: datetime | str | None) -> str:
    """「05:59」 in Shanghai."""
    if value is None or value == "":
        return EMPTY
    return shanghai(value).strftime("%H:%M")


def zh_datetime(value: datetime | str | None, *, seconds: bool = False) -> str:
    """「2026年9月1日 05:59」 in Shanghai."""
    if value is None or value == "":
        return EMPTY
    dt = shanghai(value)
    return f"{zh_date(dt)} {dt.strftime('%H:%M:%S' if seconds else '%H:%M')}"


def iso(value: datetime | str) -> str:
    """Machine-readable Shanghai time, e.g. for ``<time datetime=…>``."""
    return shanghai(value).isoformat()


FILTERS = {"zh_datetime": zh_datetime, "zh_date": zh_date, "zh_time": zh_time, "iso": iso}
"""Registered as Jinja filters for every page."""
