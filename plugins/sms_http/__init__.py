"""Notification channel plugin: ``sms_http`` — SMS through a generic HTTP gateway.

Tells petitioners (信访人) their receipt code at registration, acceptance or
non-acceptance (with the proper channel) and that the result is ready, when the tenant
chose it as its petitioner channel (tenant setting ``petitioner_channel``). The core
deliverer decrypts the phone and calls :func:`xinfang_notify` with
``recipient={"kind": "petitioner", "phone": …}``; this plugin words the message from the
tenant's template (defaults below, one per event), prefixes the signature 【机构名】 and
POSTs the gateway's JSON body with ``{phone}`` and ``{text}`` filled in.

Settings (per tenant, ``xinfang_default_config``): ``url``, ``method`` (POST),
``auth_header`` + ``auth_token`` (shown masked by the admin API), ``body_template``
(JSON text with ``{phone}``, ``{text}`` and optionally ``{message_id}`` — stable across
retries, for gateways that drop repeats), ``timeout_seconds``, ``signature`` (empty: 【the tenant's name】) and
``templates`` (event → text; ``str.format`` with a fixed set of plain variables only).

Outcomes: 2xx → sent; 4xx (or a missing URL) → ``InvalidInput`` — refused for good, the
delivery fails with that code; 5xx, 429, timeouts and connection errors → an exception
of their kind only (no URL, no body: nothing personal) — retried by the deliverer.
Staff recipients are not this channel's: it returns None for them.
"""

from __future__ import annotations

import json
import string
from typing import Any

import httpx

from core.plugin_api import (
    HookContext,
    InvalidInput,
    NotificationChannel,
    PluginInfo,
    TenantInfo,
    hookimpl,
)

NAME = "sms_http"
CHANNEL = "sms_http"
EVENTS = ("registered", "accepted", "not_accepted", "result", "review_result", "rereview_result")
VARIABLES = frozenset(
    {"receipt_code", "date", "lookup_url", "tenant_name", "redirect_channel", "opinion"}
)
"""What a template may name: ``{receipt_code}``, ``{date}`` …; nothing else (no
attributes, no indexes, no format specs) — a template is data, not code."""

DEFAULT_TEMPLATES: dict[str, str] = {
    "registered": (
        "您反映的事项已于{date}登记，受理编号{receipt_code}。"
        "可凭受理编号和手机号后4位在 {lookup_url} 查询办理进度。"
    ),
    "accepted": "您反映的事项（编号{receipt_code}）已于{date}受理，办理结果将告知您。",
    "not_accepted": (
        "您反映的事项（编号{receipt_code}）依法不予受理，请通过{redirect_channel}途径提出，"
        "书面告知书将另行送达。"
    ),
    "result": (
        "您反映的事项（编号{receipt_code}）已于{date}办结，处理意见：{opinion}。"
        "如不服，可自收到处理意见书之日起30日内申请复查。进度查询：{lookup_url}"
    ),
    "review_result": (
        "您申请复查的事项（编号{receipt_code}）已于{date}作出复查意见：{opinion}。"
        "如不服，可自收到复查意见书之日起30日内申请复核。"
    ),
    "rereview_result": (
        "您申请复核的事项（编号{receipt_code}）已于{date}作出复核意见：{opinion}。"
        "复核意见为最终意见。"
    ),
}
DEFAULT_BODY = '{"mobile": "{phone}", "content": "{text}"}'
TIMEOUT_RANGE = (1, 60)


class GatewayUnavailable(Exception):
    """The gateway did not take the message now (5xx, 429, timeout, no connection)."""


@hookimpl
def xinfang_plugin_info() -> PluginInfo:
    return PluginInfo(
        name=NAME,
        title_zh="短信（HTTP 网关）",
        version="1.0",
        description="通过通用 HTTP 短信网关告知信访人：登记回执编号、受理/不予受理、办理结果。",
    )


@hookimpl
def xinfang_default_config() -> dict[str, Any]:
    return {
        "url": "",
        "method": "POST",
        "auth_header": "Authorization",
        "auth_token": "",
        "body_template": DEFAULT_BODY,
        "timeout_seconds": 10,
        "signature": "",
        "templates": dict(DEFAULT_TEMPLATES),
    }


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput("sms_http_config", f"{field}：{message}", field=field)


def check_template(text: str, field: str) -> str:
    """A message template that names only :data:`VARIABLES`, plainly."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise _refuse(field, "花括号不成对；字面花括号请写成 {{ 或 }}。") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in VARIABLES or spec or conversion:
            allowed = "、".join("{" + v + "}" for v in sorted(VARIABLES))
            raise _refuse(field, f"不能使用“{{{name}}}”；可用的变量有：{allowed}。")
    return text


def _check_body(text: Any) -> str:
    if not isinstance(text, str):
        raise _refuse("body_template", "应为 JSON 文本。")
    try:
        body = json.loads(text)
    except ValueError:
        raise _refuse("body_template", "不是有效的 JSON。") from None
    if not isinstance(body, dict):
        raise _refuse("body_template", "应为 JSON 对象，例如 " + DEFAULT_BODY + "。")
    for mark in ("{phone}", "{text}"):
        if mark not in text:
            raise _refuse("body_template", f"应包含占位符 {mark}。")
    return text


def _check_scalar(key: str, value: Any) -> Any:
    if key == "url":
        if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
            raise _refuse("url", "应为 http:// 或 https:// 开头的网址。")
        return value.strip()
    if key == "method":
        if value != "POST":
            raise _refuse("method", "只支持 POST。")
        return value
    if key == "timeout_seconds":
        low, high = TIMEOUT_RANGE
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise _refuse("timeout_seconds", f"应为 {low}–{high} 之间的秒数。")
        return value
    if key in ("auth_header", "auth_token", "signature"):
        if not isinstance(value, str) or len(value) > (20 if key == "signature" else 500):
            raise _refuse(key, "应为文本（签名不超过 20 个字）。")
        if key == "auth_header" and value and not value.replace("-", "").isalnum():
            raise _refuse(key, "应为 HTTP 头名称，例如 Authorization 或 X-Api-Key。")
        return value.strip()
    return value


@hookimpl
def xinfang_validate_config(config: dict[str, Any]) -> dict[str, Any] | None:
    out = dict(config)
    for key, value in config.items():
        if key == "body_template":
            out[key] = _check_body(value)
        elif key == "templates":
            if not isinstance(value, dict) or set(value) - set(EVENTS):
                raise _refuse("templates", "只能设置 " + "、".join(EVENTS) + " 的模板。")
            out[key] = {
                event: check_template(str(text), f"templates.{event}")
                for event, text in value.items()
                if str(text).strip()
            }
        else:
            out[key] = _check_scalar(key, value)
    return out


@hookimpl
def xinfang_notification_channels() -> list[NotificationChannel]:
    return [NotificationChannel(code=CHANNEL, title_zh="短信（HTTP 网关）")]


def render(config: dict[str, Any], tenant_name: str, message: dict[str, Any]) -> str:
    """The SMS text of ``message``: the signature, then the tenant's template for its
    event (the shipped default when the tenant has none) with the fixed variables."""
    event = str(message.get("event") or "")
    templates = config.get("templates") or {}
    template = templates.get(event) or DEFAULT_TEMPLATES.get(event)
    if template is None:
        raise InvalidInput("sms_http_event", f"没有事件“{event}”的短信模板。")
    values = {v: str(message.get(v) or "") for v in VARIABLES}
    values["tenant_name"] = values["tenant_name"] or tenant_name
    signature = config.get("signature") or f"【{values['tenant_name']}】"
    return signature + check_template(template, f"templates.{event}").format_map(values)


def _fill(node: Any, values: dict[str, str]) -> Any:
    """The body template with each string's ``{phone}``, ``{text}`` and ``{message_id}``
    replaced (values go into JSON strings: no escaping to get wrong)."""
    if isinstance(node, str):
        for mark, value in values.items():
            node = node.replace("{" + mark + "}", value)
        return node
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    return node


async def send(config: dict[str, Any], phone: str, text: str, message_id: str = "") -> None:
    """POST one SMS to the gateway; raises as the module docstring says."""
    url = str(config.get("url") or "")
    if not url:
        raise InvalidInput("sms_http_not_configured", "未设置短信网关地址（url）。", field="url")
    template = json.loads(config.get("body_template") or DEFAULT_BODY)
    body = _fill(template, {"phone": phone, "text": text, "message_id": message_id})
    headers = {}
    if config.get("auth_header") and config.get("auth_token"):
        headers[str(config["auth_header"])] = str(config["auth_token"])
    try:
        async with httpx.AsyncClient(timeout=float(config.get("timeout_seconds") or 10)) as c:
            response = await c.request("POST", url, json=body, headers=headers)
    except httpx.TimeoutException:
        raise GatewayUnavailable("timeout") from None
    except httpx.HTTPError as exc:  # connection refused, reset …: its text names the URL
        raise GatewayUnavailable(type(exc).__name__) from None
    status = response.status_code
    if status >= 500 or status == 429:
        raise GatewayUnavailable(f"HTTP {status}")
    if not 200 <= status < 300:
        raise InvalidInput(
            f"gateway_http_{status}", f"短信网关拒绝了请求（HTTP {status}）。", field="url"
        )


@hookimpl
async def xinfang_notify(
    tenant: TenantInfo,
    ctx: HookContext,
    channel: str,
    recipient: dict[str, Any],
    message: dict[str, Any],
) -> bool | None:
    if channel != CHANNEL or recipient.get("kind") != "petitioner" or not recipient.get("phone"):
        return None
    text = render(ctx.config, tenant.name, message)
    await send(ctx.config, str(recipient["phone"]), text, str(message.get("message_id") or ""))
    return True
