"""The admin forms as plain data (core.web.adminform): what HTML forms cannot say is
filled in (unticked boxes, one ticked box of a group), a plugin's settings are typed
after their values, and a refusal finds its input."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.web.adminform import (
    config_fields,
    config_from_form,
    config_values,
    form_body,
    groups_of,
    refusal,
)

DEFAULTS = {
    "temp_standard": 18,
    "ratio": 0.5,
    "strict": True,
    "code": "inspection",
    "station": None,
    "heating_season": {"start": "11-15", "end": "03-15"},
    "tiers": [1, 2],
}


def test_form_body_lists_and_checkboxes() -> None:
    body = form_body(
        [("roles", "clerk"), ("reminders.digest", "true"), ("name", "甲"), ("_csrf_token", "x")],
        lists=("roles",),
        checks=("reminders.digest", "reminders.screening"),
    )
    assert body == {
        "roles": ["clerk"],
        "name": "甲",
        "reminders": {"digest": "true", "screening": "false"},
    }
    assert form_body([("a", "")], lists=("roles",)) == {}  # nothing ticked: left out


def test_config_fields_follow_the_values() -> None:
    fields = config_fields(DEFAULTS, {**DEFAULTS, "temp_standard": 20.0})
    by = {f.path: f for f in fields}
    assert [f.path for f in fields] == [
        "temp_standard",
        "ratio",
        "strict",
        "code",
        "station",
        "heating_season.start",
        "heating_season.end",
        "tiers",
    ]
    assert by["temp_standard"].kind == "int" and by["temp_standard"].value == "20"
    assert by["strict"].kind == "bool" and by["strict"].value is True
    assert by["station"].kind == "optional" and by["station"].value == ""
    assert by["tiers"].kind == "json" and by["tiers"].value == "[1, 2]"
    assert by["heating_season.start"].name == "config.heating_season.start"
    assert groups_of(fields) == {"heating_season": "heating_season.start"}


def test_config_from_form_types_each_value() -> None:
    fields = config_fields(DEFAULTS, DEFAULTS)
    pairs = [
        ("config.temp_standard", "18.5"),
        ("config.ratio", "1"),
        ("config.code", " x "),
        ("config.station", ""),
        ("config.heating_season.start", "11-01"),
        ("config.heating_season.end", "03-31"),
        ("config.tiers", "[3]"),
    ]
    assert config_from_form(fields, pairs) == {
        "temp_standard": 18.5,
        "ratio": 1.0,
        "strict": False,  # not ticked
        "code": "x",
        "station": None,
        "heating_season": {"start": "11-01", "end": "03-31"},
        "tiers": [3],
    }
    with pytest.raises(InvalidInput) as bad:
        config_from_form(fields, [*pairs, ("config.temp_standard", "warm")])
    assert bad.value.field == "temp_standard" and "应为数字" in bad.value.message
    with pytest.raises(InvalidInput) as bad:
        config_from_form(fields, [*pairs, ("config.tiers", "[")])
    assert bad.value.field == "tiers"
    assert config_values(fields, [("config.strict", "true"), ("config.code", "y")])["config.strict"]


def test_a_refusal_stands_at_its_input_or_its_group() -> None:
    labels = {"name": "机构名称", "heating_season.start": "heating_season.start"}
    r = refusal(InvalidInput("missing_field", "缺少必填字段 name。", field="name"), labels)
    assert r.errors == {"name": "请填写机构名称。"} and r.summary[0]["input"] == "name"
    groups = {"heating_season": "heating_season.start"}
    r = refusal(
        InvalidInput("x", "供暖季应为 {start, end}。", field="heating_season"), labels, groups
    )
    assert r.errors == {"heating_season.start": "供暖季应为 {start, end}。"}
    r = refusal(InvalidInput("x", "整体错误。"), labels)
    assert r.errors == {} and r.summary == [{"input": None, "label": "", "message": "整体错误。"}]
