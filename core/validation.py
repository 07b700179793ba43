"""Input rules shared by the API, the CLI and the services.

- msgspec's English validation messages become ``InvalidInput`` with a stable code, the
  field path and a zh-CN message (:func:`translate`, :func:`convert`);
- names must contain a visible character (:data:`VISIBLE`);
- dates people enter are kept to a sane window around today (:func:`check_day`).

The limits are documented in docs/architecture.md ("Input limits").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import msgspec

from core.errors import DomainError, InvalidInput, MalformedRequest
from core.settings import TIMEZONE

T = TypeVar("T")

# Whitespace, control and format characters, and the blank-looking letters (Hangul
# fillers, braille blank): a name made only of these looks empty on paper and screen.
# BMP escapes only, so the pattern means the same in Python and in JSON Schema.
_INVISIBLE = (
    r"\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    r"\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164"
    r"\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
)
VISIBLE = f"[^{_INVISIBLE}]"
"""msgspec/JSON-Schema pattern (searched, not anchored): at least one visible character."""
_VISIBLE_RE = re.compile(VISIBLE)

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
"""Dates a computation starts from (deadline start, pauses, Open311 date filters): far
dates would overflow date arithmetic, and a pause of millennia is counted day by day."""
RECEIVED_MAX_AGE = timedelta(days=365)
"""A case is registered within a year of the visit; older is a typo, not a late entry."""
SCHEDULE_PAST_DAYS = 366
SCHEDULE_FUTURE_DAYS = 2 * 366
"""Reception sessions and leave: from a year ago to two years ahead."""


def has_visible(text: str) -> bool:
    return _VISIBLE_RE.search(text) is not None


_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"Expected `str` of length <= (\d+)"), "too_long", "长度不能超过 {0} 个字符。"),
    (re.compile(r"Expected `str` of length >= (\d+)"), "too_short", "至少需要 {0} 个字符。"),
    (
        re.compile(r"Expected `(?:array|object)` of length <= (\d+)"),
        "too_many_items",
        "最多只能有 {0} 项。",
    ),
    (
        re.compile(r"Expected `(?:array|object)` of length >= (\d+)"),
        "too_few_items",
        "至少需要 {0} 项。",
    ),
    (re.compile(r"Expected `(?:int|float)` >= (-?\d+)"), "out_of_range", "不能小于 {0}。"),
    (re.compile(r"Expected `(?:int|float)` <= (-?\d+)"), "out_of_range", "不能大于 {0}。"),
    (re.compile(r"Number out of range"), "out_of_range", "数值超出范围。"),
    (
        re.compile(r"Expected `str` matching regex '\[\^\\+s"),
        "blank_name",
        "不能为空，也不能只由空格或不可见字符组成。",
    ),
    (
        re.compile(r"Expected `str` matching regex '\^\(\[01\]"),
        "invalid_time",
        "时间格式不正确，应为 08:30。",
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        "invalid_format",
        "格式不正确：只能包含字母、数字、点、下划线和连字符。",
    ),
    (re.compile(r"Invalid enum value '([^']*)'"), "invalid_choice", "取值“{0}”不在可选范围内。"),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        "invalid_datetime",
        "时间格式不正确，应为 2026-11-23T09:30:00+08:00。",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded date"),
        "invalid_date",
        "日期格式不正确，应为 2026-11-23。",
    ),
    (
        re.compile(r"Invalid ISO8601 encoded time|Invalid RFC3339 encoded time"),
        "invalid_time",
        "时间格式不正确，应为 08:30。",
    ),
    (
        re.compile(r"Expected `([\w |]+)`, got `(\w+)`"),
        "wrong_type",
        "类型错误：应为 {0}，收到的是 {1}。",
    ),
]
_TYPE_ZH = {
    "str": "文本",
    "int": "整数",
    "float": "数字",
    "bool": "布尔值",
    "object": "对象",
    "array": "数组",
    "null": "空值",
    "date": "日期",
    "datetime": "时间",
}


def translate(message: str, key: str | None) -> dict[str, Any]:
    """msgspec's message (and the field path, if any) → ``{code, field?, message}``."""
    field = None if key in (None, "", "data") else key
    if m := re.search(r"unknown field `([^`]+)`", message):
        name = f"{field}.{m.group(1)}" if field else m.group(1)
        return {
            "code": "unknown_field",
            "field": name,
            "message": f"不认识的字段 {name}，请检查拼写或删除该字段。",
        }
    if m := re.search(r"missing required field `([^`]+)`", message):
        name = f"{field}.{m.group(1)}" if field else m.group(1)
        return {"code": "missing_field", "field": name, "message": f"缺少必填字段 {name}。"}
    for pattern, code, template in _RULES:
        if m := pattern.search(message):
            args = ["或".join(_TYPE_ZH.get(t, t) for t in g.split(" | ")) for g in m.groups()]
            out: dict[str, Any] = {"code": code, "message": template.format(*args)}
            if field:
                out["field"] = field
                out["message"] = f"{field}：{out['message']}"
            return out
    if field is None:
        return {"code": "malformed_body", "message": "请求内容必须是一个 JSON 对象。"}
    return {"code": "invalid_field", "field": field, "message": f"{field}：取值无效。"}


def error_of(exc: msgspec.ValidationError, prefix: str = "") -> DomainError:
    """A msgspec validation error as a refusal naming the field (``prefix`` + path)."""
    message, _, where = str(exc).partition(" - at `$")
    path = where.rstrip("`").replace("[...]", "").lstrip(".")  # [...]: a dict value
    key = f"{prefix}.{path}".strip(".").replace(".[", "[") if prefix or path else None
    body = translate(message, key)
    cls = MalformedRequest if body["code"] == "malformed_body" else InvalidInput
    return cls(body["code"], body["message"], field=body.get("field"))


def convert(value: Any, type_: type[T], *, prefix: str = "", strict: bool = True) -> T:
    """``msgspec.convert`` with strict types; errors are refusals naming the field."""
    try:
        return msgspec.convert(value, type_, strict=strict)
    except msgspec.ValidationError as exc:
        raise error_of(exc, prefix) from None


def check_day(day: date, first: date, last: date, *, field: str, what: str) -> date:
    """``day`` must lie in ``first``–``last`` (inclusive); the message names the window."""
    if not first <= day <= last:
        raise InvalidInput(
            "date_out_of_range",
            f"{what}应在 {first.isoformat()} 至 {last.isoformat()} 之间，收到 {day.isoformat()}。",
            field=field,
            first=first.isoformat(),
            last=last.isoformat(),
        )
    return day


def schedule_window(today: date) -> tuple[date, date]:
    """Days a reception session or a leave may be on: a year back, two years ahead."""
    return today - timedelta(days=SCHEDULE_PAST_DAYS), today + timedelta(days=SCHEDULE_FUTURE_DAYS)


def check_received_at(received_at: datetime | None, now: datetime) -> datetime:
    """When the petitioner came: with a time zone, within the last year, not in the future."""
    if received_at is None:
        return now
    if received_at.tzinfo is None:
        raise InvalidInput(
            "timezone_required",
            "来访时间需带时区，例如 2026-11-23T09:30:00+08:00。",
            field="received_at",
        )
    if received_at > now:
        raise InvalidInput("received_in_future", "来访时间不能晚于当前时间。", field="received_at")
    earliest = now - RECEIVED_MAX_AGE
    if received_at < earliest:
        raise InvalidInput(
            "received_out_of_range",
            f"来访时间只能是近一年内（{RECEIVED_MAX_AGE.days} 天）的，"
            f"不能早于 {earliest.astimezone(TIMEZONE):%Y-%m-%d %H:%M}。",
            field="received_at",
        )
    return received_at
