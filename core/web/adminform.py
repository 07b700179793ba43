"""The admin screens' forms as plain data, without HTTP.

As at the desk (``core.web.deskform``), input names are the JSON paths of what the
service takes (``reminders.digest_hour``, ``config.heating_season.start``), so a form
becomes that body with :func:`~core.web.deskform.unflatten` and a refusal naming a path
finds its input again. What HTML forms cannot say is filled in here: an unchecked box
sends nothing (:func:`form_body` says ``false``), one ticked box of a group is one value
(still a list), and a plugin's settings are typed after its defaults
(:func:`config_fields`, :func:`config_from_form`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import DomainError, InvalidInput
from core.web.deskform import error_message, unflatten


@dataclass(frozen=True)
class Refusal:
    """A refusal as a form shows it: the message at its input (``errors``) and in the
    summary at the top (every refusal, with a link when it has an input)."""

    errors: dict[str, str]
    summary: list[dict[str, Any]]


def refusal(
    exc: DomainError, labels: Mapping[str, str], groups: Mapping[str, str] | None = None
) -> Refusal:
    """``labels``: input name → label of the form's inputs; ``groups``: a path that
    names several inputs (a plugin's ``departments``) → the input it stands at."""
    field = exc.field or ""
    name = field if field in labels else (groups or {}).get(field)
    label = labels.get(name, "") if name else ""
    message = error_message(exc.code, exc.message, exc.field, label)
    errors = {name: message} if name else {}
    return Refusal(errors, [{"input": name, "label": label, "message": message}])


def form_body(
    pairs: Iterable[tuple[str, str]],
    *,
    lists: Collection[str] = (),
    checks: Collection[str] = (),
) -> dict[str, Any]:
    """The posted pairs as the body a service takes: ``lists`` are always lists (a group
    of checkboxes), ``checks`` always ``"true"``/``"false"`` (a single checkbox)."""
    pairs = list(pairs)
    sent = {name for name, _ in pairs}
    body = unflatten((k, v) for k, v in pairs if k not in checks)
    for name in lists:
        if name in body and not isinstance(body[name], list):
            body[name] = [body[name]]
    for name in checks:
        node = body
        *parents, last = name.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = "true" if name in sent else "false"
    return body


# --- a plugin's settings -----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigField:
    name: str
    """Input name: ``config.`` + the setting's path."""
    path: str
    kind: str
    """bool | int | number | text | optional | json"""
    value: Any
    default: Any


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "text"
    if default is None:
        return "optional"
    return "json"


def _shown(kind: str, value: Any) -> Any:
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if kind == "bool":
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 20, not 20.0 (a plugin may store every number as float)
    return "" if value is None else str(value)


def config_fields(defaults: Mapping[str, Any], current: Mapping[str, Any]) -> list[ConfigField]:
    """One input per setting the plugin's defaults name; a table of plain values (a
    plugin's department codes) one input per entry."""
    out = []
    for key, default in defaults.items():
        value = current.get(key, default)
        flat = isinstance(default, dict) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in default.values()
        )
        if flat and default and isinstance(value, dict):
            for sub, sub_default in default.items():
                path, kind = f"{key}.{sub}", _kind(sub_default)
                out.append(
                    ConfigField(
                        f"config.{path}", path, kind, _shown(kind, value.get(sub)), sub_default
                    )
                )
            continue
        kind = _kind(default)
        out.append(ConfigField(f"config.{key}", key, kind, _shown(kind, value), default))
    return out


def groups_of(fields: Iterable[ConfigField]) -> dict[str, str]:
    """A setting that holds several inputs (``departments``) → the path of its first."""
    out: dict[str, str] = {}
    for f in fields:
        if "." in f.path:
            out.setdefault(f.path.split(".", 1)[0], f.path)
    return out


def _typed(f: ConfigField, text: str | None) -> Any:
    bad = InvalidInput("config_value", "", field=f.path)
    text = (text or "").strip()
    if f.kind == "bool":
        return text in ("true", "on", "1")
    if f.kind in ("int", "number"):
        try:
            return int(text) if f.kind == "int" and text.lstrip("-").isdigit() else float(text)
        except ValueError:
            bad.message = f"{f.path}：应为数字。"
            raise bad from None
    if f.kind == "optional":
        return text or None
    if f.kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            bad.message = f"{f.path}：应为 JSON，例如 [] 或 {{}}。"
            raise bad from None
    return text


def config_from_form(fields: list[ConfigField], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The settings as the service takes them, typed after the plugin's defaults."""
    posted = dict(pairs)
    config: dict[str, Any] = {}
    for f in fields:
        value = _typed(f, posted.get(f.name))
        key, _, sub = f.path.partition(".")
        if sub:
            config.setdefault(key, {})[sub] = value
        else:
            config[key] = value
    return config


def config_values(fields: list[ConfigField], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The inputs as typed, to show again after a refusal."""
    posted = dict(pairs)
    return {
        f.name: (f.name in posted) if f.kind == "bool" else posted.get(f.name, "") for f in fields
    }
