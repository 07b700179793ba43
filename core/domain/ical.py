"""iCalendar (RFC 5545) feed for duty leaders' reception schedules.

Pure: events in, bytes out. Subscribers' clients match events by UID and take the one
with the higher SEQUENCE, so a swap or cancellation must keep the UID and bump SEQUENCE;
cancelled events stay in the feed with STATUS:CANCELLED so clients remove them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone

from core.errors import InvalidInput

EventStatus = Literal["CONFIRMED", "CANCELLED", "TENTATIVE"]

PRODID = "-//xinfang//信访接待排班//ZH"
PROVISIONAL_MARK = "（临时：工作日历未导入）"
_STATUSES: tuple[EventStatus, ...] = ("CONFIRMED", "CANCELLED", "TENTATIVE")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


@dataclass(frozen=True)
class CalendarEvent:
    """One published reception slot as subscribers see it (times are local to ``tz``)."""

    uid: str
    day: date
    start: time
    end: time
    summary: str
    location: str
    description: str
    sequence: int
    status: EventStatus
    last_modified: datetime
    provisional: bool


def uid_for(slot_key: str, domain: str) -> str:
    """Stable UID for a slot: percent-encoded key @ domain.

    Percent-encoding is injective, so distinct keys never share a UID. The domain must
    identify the tenant (template keys repeat across tenants), e.g. ``t42.xinfang.example``.
    """
    host = domain.strip().lower()
    if not _DOMAIN_RE.match(host):
        raise InvalidInput(
            "invalid_uid_domain",
            "日历 UID 的域名格式不正确，应类似 t42.xinfang.example。",
            field="domain",
        )
    if not slot_key:
        raise InvalidInput("slot_key_required", "生成日历 UID 需要排班时段标识。", field="slot_key")
    return f"{quote(slot_key, safe='-._~')}@{host}"


def render_calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    tz: str = "Asia/Shanghai",
    now: datetime,
) -> bytes:
    """Render a VCALENDAR with one VTIMEZONE for ``tz`` and one VEVENT per event.

    Output depends only on the arguments (events sorted by day, start, UID), so the same
    schedule renders to the same bytes and clients see no spurious changes.
    """
    zone = _zone(tz)
    _require_aware(now, "now")
    given = list(events)
    _check_events(given)  # before sorting, so field indexes match the caller's order
    ordered = sorted(given, key=lambda e: (e.day, e.start, e.uid))

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz)
    cal.add_component(_vtimezone(tz, ordered))
    stamp = now.astimezone(UTC)
    for ev in ordered:
        cal.add_component(_vevent(ev, zone, stamp))
    out: bytes = cal.to_ical()
    return out


def _vevent(ev: CalendarEvent, zone: ZoneInfo, stamp: datetime) -> Event:
    # A provisional day may still move once the year's calendar is imported.
    status: EventStatus = "TENTATIVE" if ev.provisional and ev.status == "CONFIRMED" else ev.status
    summary = f"{ev.summary}{PROVISIONAL_MARK}" if ev.provisional else ev.summary
    vevent = Event()
    vevent.add("uid", ev.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", datetime.combine(ev.day, ev.start, tzinfo=zone))
    vevent.add("dtend", datetime.combine(ev.day, ev.end, tzinfo=zone))
    vevent.add("summary", summary)
    if ev.location:
        vevent.add("location", ev.location)
    if ev.description:
        vevent.add("description", ev.description)
    vevent.add("sequence", ev.sequence)
    vevent.add("status", status)
    vevent.add("last-modified", ev.last_modified.astimezone(UTC))
    return vevent


def _vtimezone(tz: str, events: list[CalendarEvent]) -> Timezone:
    # Bound the transitions to the feed's years: deterministic and small (Asia/Shanghai has
    # had no DST since 1991, so this is a single STANDARD block).
    first = date(min((e.day.year for e in events), default=2000) - 1, 1, 1)
    last = date(max((e.day.year for e in events), default=2000) + 2, 1, 1)
    return Timezone.from_tzid(tz, first_date=first, last_date=last)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("unknown_timezone", f"未知时区 {tz!r}。", field="tz") from exc


def _require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            "naive_datetime", f"{field} 必须带时区信息（例如 Asia/Shanghai）。", field=field
        )


def _check_events(events: list[CalendarEvent]) -> None:
    seen: set[str] = set()
    for i, ev in enumerate(events):
        if not ev.uid:
            raise InvalidInput("event_uid_required", "日历事件缺少 UID。", field=f"events[{i}].uid")
        if ev.uid in seen:
            raise InvalidInput(
                "duplicate_event_uid",
                "同一日历中出现重复的事件 UID。",
                field=f"events[{i}].uid",
                uid=ev.uid,
            )
        seen.add(ev.uid)
        if ev.end <= ev.start:
            raise InvalidInput(
                "event_end_not_after_start",
                "日历事件的结束时间必须晚于开始时间。",
                field=f"events[{i}].end",
            )
        if ev.sequence < 0:
            raise InvalidInput(
                "negative_event_sequence",
                "日历事件的序号不能为负数。",
                field=f"events[{i}].sequence",
            )
        if ev.status not in _STATUSES:
            raise InvalidInput(
                "unknown_event_status",
                "日历事件状态只能是 CONFIRMED、CANCELLED 或 TENTATIVE。",
                field=f"events[{i}].status",
            )
        _require_aware(ev.last_modified, f"events[{i}].last_modified")
