"""Every plugin hook. Each has a one-line docstring; ``docs/plugins.md`` documents each.

Hooks take keyword arguments only. ``tenant`` is a :class:`core.plugins.TenantInfo`;
a hook is only ever called for tenants that enabled the plugin implementing it.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("xinfang")
hookimpl = pluggy.HookimplMarker("xinfang")


@hookspec
def xinfang_plugin_info() -> dict[str, Any]:  # type: ignore[empty-body]
    """Describe the plugin: name, title_zh, version, description."""


@hookspec
def xinfang_categories(tenant: Any) -> list[dict[str, Any]]:  # type: ignore[empty-body]
    """Case categories the plugin adds for this tenant (code, title_zh, group)."""


@hookspec
def xinfang_notify(
    tenant: Any, channel: str, recipient: dict[str, Any], message: dict[str, Any]
) -> bool | None:
    """Deliver a notification through a plugin channel (SMS, WeCom); True when handled."""
