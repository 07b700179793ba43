"""The sms_http plugin's pure parts: the message wording (tenant template over the
shipped default, signature, fixed variables only) and the gateway body (values put into
JSON strings, so quotes and newlines in a message cannot break or extend the body)."""

from __future__ import annotations

import pytest

from core.plugin_api import InvalidInput
from plugins import sms_http

FACTS = {
    "event": "registered",
    "receipt_code": "XF2026ABC",
    "date": "2026年12月8日",
    "lookup_url": "https://x.example/t/bureau/lookup",
    "tenant_name": "某市信访局",
}


def test_default_template_and_the_tenant_name_as_signature() -> None:
    config = sms_http.xinfang_default_config()
    text = sms_http.render(config, "某市信访局", FACTS)
    assert text.startswith("【某市信访局】您反映的事项已于2026年12月8日登记，受理编号XF2026ABC")
    assert "https://x.example/t/bureau/lookup" in text and "后4位" in text


def test_tenant_template_for_one_event_keeps_the_defaults_of_the_others() -> None:
    config = {
        **sms_http.xinfang_default_config(),
        "templates": {"accepted": "已受理{receipt_code}"},
    }
    config["signature"] = "【本局】"
    assert sms_http.render(config, "x", {**FACTS, "event": "accepted"}) == "【本局】已受理XF2026ABC"
    assert "登记" in sms_http.render(config, "x", FACTS)


@pytest.mark.parametrize(
    "template",
    ["{receipt_code.__class__}", "{0}", "{}", "{phone}", "{receipt_code!r}", "{date:>99}", "{"],
)
def test_templates_name_only_the_fixed_variables_plainly(template: str) -> None:
    with pytest.raises(InvalidInput) as err:
        sms_http.xinfang_validate_config({"templates": {"registered": template}})
    assert err.value.field == "templates.registered"


def test_body_values_go_into_json_strings() -> None:
    template = '{"to": ["{phone}"], "msg": {"text": "{text}", "n": 1}, "id": "{message_id}"}'
    body = sms_http._fill(
        sms_http.json.loads(template),
        {"phone": "13900001111", "text": 'a "quoted"\n}{ text', "message_id": "xinfang.1.2"},
    )
    assert body == {
        "to": ["13900001111"],
        "msg": {"text": 'a "quoted"\n}{ text', "n": 1},
        "id": "xinfang.1.2",
    }


def test_staff_recipients_are_not_this_channels() -> None:
    import asyncio

    result = asyncio.run(
        sms_http.xinfang_notify(
            tenant=None,  # type: ignore[arg-type]
            ctx=None,  # type: ignore[arg-type]
            channel="sms_http",
            recipient={"id": 3, "display_name": "x", "email": None},
            message={"title": "t"},
        )
    )
    assert result is None
