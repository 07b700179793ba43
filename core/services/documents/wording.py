"""The words of each document: a Jinja2 template per kind, rendered in the sandbox.

Defaults ship here (``DEFAULTS``); a tenant's admin may replace any of them — their
text lives in ``tenant.settings["document_templates"][kind]``. Templates run in
Jinja2's ``ImmutableSandboxedEnvironment``: no attribute starting with ``_``, no
methods that change things, so ``{{ ''.__class__.__mro__ }}`` is refused, not run. A
template's output is plain text (blank line: a new paragraph; a single line break
stays one); it reaches the typesetter as data, never as markup."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.errors import InvalidInput

MAX_TEMPLATE = 8000
MAX_OUTPUT = 20000

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)

REVIEW_RIGHT = (
    "如对本处理意见不服，依照《信访工作条例》第三十五条的规定，可以自收到本意见书之日起"
    "30日内（即{{ review_request_due }}前）向原办理机关的上一级机关请求复查。"
)

DEFAULTS: dict[str, str] = {
    "receipt": (
        "{{ visitor_name }}：\n\n"
        "你（单位）于{{ received_date }}以{{ channel_zh }}方式提出的信访事项已由本机关登记，"
        "登记编号为 {{ receipt_code }}。\n\n"
        "依照《信访工作条例》第二十二条的规定，本机关将在收到信访事项之日起15日内决定是否受理，"
        "并于{{ notify_due }}前书面告知你。\n\n"
        "你可凭登记编号在以下网址查询办理进度，也可到本机关信访接待场所查询：\n"
        "{{ lookup_url }}\n\n"
        "请妥善保管本回执。"
    ),
    "acceptance_notice": (
        "{{ visitor_name }}：\n\n"
        "你于{{ received_date }}提出的信访事项（登记编号 {{ receipt_code }}），"
        "本机关已于{{ decided_date }}依法受理。\n\n"
        "依照《信访工作条例》第三十四条的规定，本机关将自受理之日起60日内办结"
        "（即{{ handle_due }}前）；情况复杂的，经批准可以适当延长办理期限，"
        "延长期限不超过30日，并告知你延期理由。\n\n"
        "特此告知。"
    ),
    "non_acceptance_notice": (
        "{{ visitor_name }}：\n\n"
        "你于{{ received_date }}提出的信访事项（登记编号 {{ receipt_code }}），"
        "经审查，属于应当通过{{ redirect_channel_zh }}途径解决的事项。"
        "依照《信访工作条例》的规定，本机关不予受理。\n\n"
        "理由：{{ reason }}\n\n"
        "请你依照有关法律、行政法规规定的程序，向有关机关提出{{ redirect_channel_zh }}。"
        "{% if redirect_notice %}\n\n{{ redirect_notice }}{% endif %}\n\n"
        "特此告知。"
    ),
    "transfer_slip": (
        "{{ transfer_to }}：\n\n"
        "现将{{ visitor_name }}于{{ received_date }}反映的信访事项（登记编号 {{ receipt_code }}）"
        "转送你{{ '单位' if transfer_external else '部门' }}，请依照《信访工作条例》的规定"
        "依法处理，并直接答复信访人。\n\n"
        "反映的主要问题：{{ cause }}"
        "{% if demand %}\n\n诉求：{{ demand }}{% endif %}"
        "{% if transfer_note %}\n\n转送说明：{{ transfer_note }}{% endif %}\n\n"
        "如认为该事项不属于你{{ '单位' if transfer_external else '部门' }}职责范围，"
        "请自收到之日起5个工作日内提出异议并退回。"
    ),
    "assignment": (
        "{{ assignee_department }}：\n\n"
        "{{ visitor_name }}于{{ received_date }}反映的信访事项（登记编号 {{ receipt_code }}），"
        "经本机关负责人批准，现交由你部门办理。\n\n"
        "反映的主要问题：{{ cause }}\n\n"
        "调查处理方案：{{ plan }}\n\n"
        "请于{{ handle_due }}前办结，并将办理结果及时回告本机关。"
    ),
    "extension_notice": (
        "{{ visitor_name }}：\n\n"
        "你于{{ received_date }}提出的信访事项（登记编号 {{ receipt_code }}），"
        "因{{ extension_reason }}，经本机关负责人批准，办理期限延长{{ extension_days }}日，"
        "由{{ old_due }}延长至{{ new_due }}。\n\n"
        "依照《信访工作条例》第三十四条的规定，特此告知。"
    ),
    "opinion": (
        "{{ visitor_name }}：\n\n"
        "你于{{ received_date }}提出的信访事项（登记编号 {{ receipt_code }}），"
        "本机关已依法办理。现出具处理意见如下：\n\n"
        "处理意见：{{ opinion_zh }}。\n\n"
        "{{ opinion_text }}\n\n" + REVIEW_RIGHT
    ),
    "review_opinion": (
        "{{ visitor_name }}：\n\n"
        "你对本机关就信访事项（登记编号 {{ receipt_code }}）所作处理意见不服，"
        "于{{ request_date }}请求复查。本机关经复查，意见如下：\n\n"
        "复查意见：{{ opinion_zh }}。\n\n"
        "{{ opinion_text }}\n\n"
        "如对本复查意见不服，依照《信访工作条例》第三十六条的规定，可以自收到本意见书之日起"
        "30日内（即{{ review_request_due }}前）向复查机关的上一级机关请求复核。"
    ),
    "rereview_opinion": (
        "{{ visitor_name }}：\n\n"
        "你对信访事项（登记编号 {{ receipt_code }}）的复查意见不服，"
        "于{{ request_date }}请求复核。本机关经复核，意见如下：\n\n"
        "复核意见：{{ opinion_zh }}。\n\n"
        "{{ opinion_text }}\n\n"
        "依照《信访工作条例》第三十六条的规定，本复核意见为最终意见。"
        "你仍以同一事实和理由提出信访请求的，各级机关不再受理。"
    ),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def from_plugin(template: str) -> str:
    """A plugin's ``{placeholder}`` template as Jinja2 (``{{ placeholder }}``)."""
    return _PLACEHOLDER.sub(r"{{ \1 }}", template)


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def render(source: str, values: dict[str, Any], *, field: str = "template") -> list[str]:
    """The paragraphs ``source`` says with ``values``; InvalidInput naming ``field``
    when the template is broken, reaches for what is not allowed, or names a value
    the document does not have."""
    if len(source) > MAX_TEMPLATE:
        raise InvalidInput(
            "template_too_long", f"模板不能超过 {MAX_TEMPLATE} 个字符。", field=field
        )
    try:
        text = _ENV.from_string(source).render(values)
    except SecurityError:
        raise InvalidInput(
            "template_unsafe",
            "模板使用了不允许的写法（只能引用文书提供的变量，不能访问内部属性或调用方法）。",
            field=field,
        ) from None
    except TemplateSyntaxError as e:
        raise InvalidInput(
            "template_syntax", f"模板第 {e.lineno} 行有语法错误：{e.message}", field=field
        ) from None
    except UndefinedError as e:
        raise InvalidInput(
            "template_variable", f"模板引用了该文书没有的变量：{e.message}", field=field
        ) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise InvalidInput(
            "template_error", f"模板无法生成文书：{type(e).__name__}", field=field
        ) from None
    if len(text) > MAX_OUTPUT:
        raise InvalidInput(
            "template_too_long", f"模板生成的文字不能超过 {MAX_OUTPUT} 个字符。", field=field
        )
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return [p for p in paragraphs if p]
