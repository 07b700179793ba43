"""The desk's flat form ↔ the API's nested body, and where a refusal is shown."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.web.deskform import error_input, error_message, flatten, label_of, on_form, unflatten


def test_unflatten_builds_the_api_body_and_leaves_out_blanks() -> None:
    body = unflatten(
        [
            ("_csrf_token", "t"),
            ("channel", "visit"),
            ("visitor.name", "张三"),
            ("visitor.id_number", ""),
            ("visitor.phone", "   "),
            ("cause", " 暖气不热 "),
            ("headcount", "6"),
            ("representatives[0].name", ""),
            ("representatives[0].phone", ""),
            ("representatives[1].name", "李四"),
            ("representatives[1].id_number", "110105198001011237"),
            ("representatives[2].name", "王五"),
            ("form.building", "3"),
            ("form.utility", "water"),
            ("form.utility", "power"),
            ("answered_on_spot", ""),
        ]
    )
    assert body == {
        "channel": "visit",
        "visitor": {"name": "张三"},
        "cause": " 暖气不热 ",  # as typed: trimming is the service's business
        "headcount": "6",
        # the blank first row is left out and the numbering closes up
        "representatives": [{"name": "李四", "id_number": "110105198001011237"}, {"name": "王五"}],
        "form": {"building": "3", "utility": ["water", "power"]},
    }


def test_an_object_left_wholly_blank_is_absent() -> None:
    assert unflatten([("visitor.name", ""), ("visitor.phone", ""), ("cause", "x")]) == {
        "cause": "x"
    }
    assert unflatten([("representatives[0].name", "")]) == {}


def test_list_indices_follow_their_number_not_their_order() -> None:
    body = unflatten([("r[10].a", "ten"), ("r[2].a", "two")])
    assert body == {"r": [{"a": "two"}, {"a": "ten"}]}


@pytest.mark.parametrize(
    "pairs",
    [
        [("visitor", "x"), ("visitor.name", "y")],
        [("visitor.name", "y"), ("visitor", "x")],
        [("a..b", "x")],
        [("a[99999].b", "x")],
        [("a b", "x")],
        [(".a", "x")],
        [("[0].a", "x")],
    ],
)
def test_names_that_are_no_json_path_are_refused(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidInput) as exc:
        unflatten(pairs)
    assert exc.value.code == "invalid_field"


def test_flatten_gives_the_input_names_back() -> None:
    pairs = [
        ("visitor.name", "张三"),
        ("representatives[0].name", "李四"),
        ("representatives[1].phone", "13812345678"),
        ("form.utility", "water"),
        ("form.utility", "power"),
        ("headcount", "6"),
    ]
    flat = flatten(unflatten(pairs))
    assert flat == {
        "visitor.name": "张三",
        "representatives[0].name": "李四",
        "representatives[1].phone": "13812345678",
        "form.utility": ["water", "power"],
        "headcount": "6",
    }
    assert flatten(unflatten([(k, v) for k, v in flat.items() if isinstance(v, str)])) == {
        k: v for k, v in flat.items() if isinstance(v, str)
    }


def test_a_refusal_finds_its_input_and_reads_with_its_label() -> None:
    assert error_input("visitor.id_number") == "visitor.id_number"
    assert error_input("visitor") == "visitor.name"
    assert error_input("representatives") == "representatives[0].name"
    assert error_input("form") == "category"
    assert error_input(None) is None
    assert label_of("representatives[1].phone") == "代表2联系电话"
    assert label_of("form.building", {"building": "楼号"}) == "楼号"
    assert label_of("visitor.name") == "姓名"
    assert error_message("missing_field", "缺少必填字段 cause。", "cause", "事由") == "请填写事由。"
    assert (
        error_message("wrong_type", "headcount：类型错误：应为 整数。", "headcount", "来访人数")
        == "来访人数：类型错误：应为 整数。"
    )
    own = "身份证号码校验位不正确，请核对证件后重新输入。"
    assert error_message("id_number_checksum", own, "visitor.id_number", "身份证号码") == own


def test_on_form_knows_which_inputs_the_page_shows() -> None:
    assert on_form("visitor.id_number", (), 0)
    assert on_form("representatives[4].phone", (), 5)
    assert not on_form("representatives[5].phone", (), 5)
    assert not on_form("representatives[0].name", (), 0)
    assert on_form("form.building", ("building",), 0)
    assert not on_form("form.meter_number", ("building",), 0)
    assert not on_form("received_at", (), 0)


def test_a_refused_accused_choice_stands_at_its_multiple_select() -> None:
    from core.web.deskform import error_input, label_of, on_form

    assert error_input("accused.user_ids[2]") == "accused.user_ids"
    assert error_input("accused.department_ids[0]") == "accused.department_ids"
    assert label_of("accused.user_ids") == "被检举控告的人员"
    assert on_form("accused.description", (), 0)
