"""Sector form fields (``xinfang_form_schema``) and the generic check of form data.

A field is shaped like an Open311 attribute. The host decodes what a plugin returns
into :class:`FormField` (``msgspec.convert``): the datatype must be known, a choice list
needs its choices, ``min`` may not exceed ``max`` and a ``pattern`` must compile — a
broken schema is the plugin's fault (``plugin_failed``), found before any clerk types.
:func:`clean_form` then checks a submitted form against the fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, get_args

from msgspec import UNSET, Meta, Struct, UnsetType

from core.errors import InvalidInput
from core.plugin_api.types import Code

Datatype = Literal[
    "string", "text", "number", "datetime", "singlevaluelist", "multivaluelist", "boolean"
]
DATATYPES: tuple[str, ...] = get_args(Datatype)
MAX_FIELD_TEXT = 2000
"""A text field's length limit when the field sets no ``max_length``."""
_LISTS = ("singlevaluelist", "multivaluelist")
_TRUE = ("1", "true", "yes", "on", "是")


class Choice(Struct, kw_only=True, forbid_unknown_fields=True):
    key: str | int
    name: str


class FormField(Struct, kw_only=True, forbid_unknown_fields=True):
    """One form field. Optional keys left out stay out of the API answers."""

    code: Code
    description: str | UnsetType = UNSET
    """The label."""
    datatype: Datatype = "string"
    required: bool = False
    values: list[Choice] | UnsetType = UNSET
    """The choices of a ``singlevaluelist`` / ``multivaluelist``."""
    datatype_description: str | UnsetType = UNSET
    """Help text (also shown when a ``pattern`` is not met)."""
    min: int | float | UnsetType = UNSET
    max: int | float | UnsetType = UNSET
    integer: bool | UnsetType = UNSET
    """A ``number`` that is whole is stored as an integer."""
    pattern: str | UnsetType = UNSET
    """The whole value must match (``re.fullmatch``)."""
    max_length: Annotated[int, Meta(ge=1)] | UnsetType = UNSET
    order: int | UnsetType = UNSET

    def __post_init__(self) -> None:
        # Raised inside msgspec.convert, these become a ValidationError naming the field.
        if self.datatype in _LISTS and not self.values:
            raise ValueError(f"{self.datatype} field {self.code} has no values")
        if self.min is not UNSET and self.max is not UNSET and self.min > self.max:
            raise ValueError(f"field {self.code} has min > max")
        if self.pattern is not UNSET:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern of field {self.code} does not compile: {exc.msg}"
                ) from None

    @property
    def label(self) -> str:
        return self.code if self.description is UNSET else self.description


def _fail(code: str, message: str, name: str) -> InvalidInput:
    return InvalidInput(code, message, field=f"form.{name}")


def _number(f: FormField, value: Any) -> float | int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail("form_field_number", f"“{f.label}”应为数字。", f.code) from None
    if f.min is not UNSET and number < f.min:
        raise _fail("form_field_range", f"“{f.label}”不能小于 {f.min}。", f.code)
    if f.max is not UNSET and number > f.max:
        raise _fail("form_field_range", f"“{f.label}”不能大于 {f.max}。", f.code)
    return int(number) if number.is_integer() and f.integer is True else number


def _boolean(f: FormField, value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in _TRUE
    return bool(value)


def _datetime(f: FormField, value: Any) -> str:
    try:
        date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _fail("form_field_date", f"“{f.label}”应为日期，例如 2026-11-23。", f.code) from None
    return str(value)


def _choice(f: FormField, value: Any) -> str | list[str]:
    keys = {str(c.key) for c in f.values or ()}
    items = value if isinstance(value, list) else [value]
    single = f.datatype == "singlevaluelist"
    if single and len(items) != 1:
        raise _fail("form_field_choice", f"“{f.label}”只能选择一项。", f.code)
    for item in items:
        if str(item) not in keys:
            raise _fail(
                "form_field_choice",
                f"“{f.label}”的取值不在可选范围内（{'、'.join(sorted(keys))}）。",
                f.code,
            )
    return str(items[0]) if single else [str(i) for i in items]


def _text(f: FormField, value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise _fail("form_field_text", f"“{f.label}”应为文字。", f.code)
    text = str(value)
    limit = MAX_FIELD_TEXT if f.max_length is UNSET else f.max_length
    if len(text) > limit:
        raise _fail("form_field_too_long", f"“{f.label}”过长。", f.code)
    if f.pattern is not UNSET and not re.fullmatch(f.pattern, text):
        hint = "" if f.datatype_description is UNSET else f.datatype_description
        raise _fail("form_field_format", f"“{f.label}”格式不正确。{hint}", f.code)
    return text


_CHECKS: dict[str, Callable[[FormField, Any], Any]] = {
    "number": _number,
    "boolean": _boolean,
    "datetime": _datetime,
    "singlevaluelist": _choice,
    "multivaluelist": _choice,
    "string": _text,
    "text": _text,
}


def clean_form(fields: Sequence[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """Check form data against its fields — unknown fields, required fields, types,
    choices, number ranges, lengths and patterns (``InvalidInput`` on ``form.<code>``)
    — and return it normalised (text trimmed, numbers as numbers, empty values left out)."""
    known = {f.code: f for f in fields}
    for key in form:
        if key not in known:
            raise _fail("unknown_form_field", f"表单中没有“{key}”这一项。", key)
    out: dict[str, Any] = {}
    for f in fields:
        value = form.get(f.code)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if f.required:
                raise _fail("form_field_required", f"请填写“{f.label}”。", f.code)
            continue
        out[f.code] = _CHECKS[f.datatype](f, value)
    return out
