"""The registration form of the reception desk as plain data, without HTTP.

The form's input names are the JSON paths of the API's body (``visitor.id_number``,
``representatives[0].name``, ``form.building``), so one flat form becomes the body the
API would get (:func:`unflatten`) and a refusal naming a JSON path finds its input
again (:func:`error_input`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from core.errors import InvalidInput

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d{1,3})\]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d{1,3}\])*")

LABELS = {
    "channel": "来源",
    "visitor.name": "姓名",
    "visitor.id_number": "身份证号码",
    "visitor.phone": "联系电话",
    "visitor.address": "住址",
    "cause": "事由",
    "demand": "诉求",
    "category": "类别",
    "purpose": "信访目的",
    "legal_category": "法定类别",
    "locality": "问题属地",
    "headcount": "来访人数",
    "answered_on_spot": "当场答复",
    "skip_level": "越级信访",
    "assigned_from_above": "上级交办",
    "accused.user_ids": "被检举控告的人员",
    "accused.department_ids": "被检举控告的部门",
    "accused.description": "被检举控告人情况",
}
_REP_FIELDS = {"name": "姓名", "id_number": "身份证号码", "phone": "联系电话"}
# A refusal about a whole object stands next to the input a clerk fills first.
_OBJECT_INPUT = {
    "visitor": "visitor.name",
    "representatives": "representatives[0].name",
    "form": "category",
    "accused": "legal_category",
}


def _path(name: str) -> list[str | int]:
    if not _NAME.fullmatch(name):
        raise InvalidInput("invalid_field", "表单中有无法识别的字段。", field=name)
    return [int(i) if i else key for key, i in _TOKEN.findall(name)]


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_blank(v) for v in value)
    return value is None or (isinstance(value, str) and not value.strip())


def _lists(node: Any) -> Any:
    """Dicts keyed by list indices become lists, in index order, wholly blank items
    left out."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        items = [_lists(node[k]) for k in sorted(node)]
        return [i for i in items if not _blank(i)]
    return {k: _lists(v) for k, v in node.items()}


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Flat form fields (``name`` = JSON path) → the nested body the API takes.

    A blank value is left out, as an API client leaves out an optional field it has no
    value for (a required one is then reported missing); a list item left wholly blank
    is left out (so the numbering closes up); a name given more than once (a group of
    checkboxes) becomes a list. Names starting with ``_`` (the CSRF token) are not data.
    Values stay as typed: converting and checking them is the API's business.
    """
    root: dict[Any, Any] = {}
    for name, value in pairs:
        if name.startswith("_") or _blank(value):
            continue
        path = _path(name)
        node: dict[Any, Any] = root
        for key in path[:-1]:
            nxt = node.setdefault(key, {})
            if not isinstance(nxt, dict):
                raise InvalidInput("invalid_field", "表单字段相互冲突。", field=name)
            node = nxt
        last = path[-1]
        if isinstance(node.get(last), dict):
            raise InvalidInput("invalid_field", "表单字段相互冲突。", field=name)
        if last in node:
            held = node[last]
            node[last] = [*held, value] if isinstance(held, list) else [held, value]
        else:
            node[last] = value
    body: dict[str, Any] = _lists(root)
    return body


def flatten(body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of :func:`unflatten`: input name → value as typed (a list of scalars
    stays a list: the checked boxes of a group)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update(flatten(item, f"{name}[{i}]"))
        else:
            out[name] = value
    return out


def label_of(name: str, form_labels: Mapping[str, str] | None = None) -> str:
    """The zh-CN label of an input name (plugin fields: their schema's description)."""
    if name in LABELS:
        return LABELS[name]
    if m := re.fullmatch(r"accused\.(user_ids|department_ids)\[\d+\]", name):
        return LABELS[f"accused.{m[1]}"]
    if m := re.fullmatch(r"representatives\[(\d+)\]\.(\w+)", name):
        return f"代表{int(m[1]) + 1}{_REP_FIELDS.get(m[2], m[2])}"
    if name.startswith("form.") and form_labels:
        return form_labels.get(name[5:], name[5:])
    return name


def on_form(name: str, form_fields: Collection[str], representatives: int) -> bool:
    """Whether the page shows an input ``name`` (its plugin fields and the number of
    representative rows given)."""
    if name in LABELS:
        return True
    if m := re.fullmatch(r"representatives\[(\d+)\]\.(name|id_number|phone)", name):
        return int(m[1]) < representatives
    return name.startswith("form.") and name[5:] in form_fields


def error_input(field: str | None) -> str | None:
    """The input a refusal's field path belongs to (None: the form as a whole)."""
    if not field:
        return None
    if m := re.fullmatch(r"(accused\.(?:user_ids|department_ids))\[\d+\]", field):
        return m[1]  # one choice of a multiple select: the select
    return _OBJECT_INPUT.get(field, field)


def error_message(code: str, message: str, field: str | None, label: str) -> str:
    """A refusal's message for a person: msgspec's, which name the JSON path, are
    told with the field's label instead; the services' own messages stay as they are."""
    if code == "missing_field":
        return f"请填写{label}。"
    if field and message.startswith(f"{field}："):
        return f"{label}：{message[len(field) + 1 :]}"
    return message
