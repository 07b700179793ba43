"""Per-tenant plugin administration: which plugins a tenant uses and their settings.

A setting whose name ends in ``token``, ``secret`` or ``password`` (e.g. the SMS
gateway's ``auth_token``) is a secret: read back as :data:`MASK` when set, never in
clear; sending :data:`MASK` back (the admin page's form does) keeps the stored value."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput, NotFound
from core.runtime import Runtime
from core.services import tenants
from core.services.answers import PluginOut
from core.services.scope import Scope

MASK = "********"
SECRET_SUFFIXES = ("token", "secret", "password")


def is_secret(key: str) -> bool:
    return key.lower().endswith(SECRET_SUFFIXES)


def masked(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every secret that is set shown as :data:`MASK`."""
    return {k: MASK if is_secret(k) and v not in (None, "") else v for k, v in config.items()}


def _unmasked(config: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """New settings with each secret sent back as :data:`MASK` replaced by the stored one."""
    return {k: stored.get(k, "") if is_secret(k) and v == MASK else v for k, v in config.items()}


def _host(rt: Runtime) -> Any:
    if rt.plugins is None:
        raise NotFound("plugins_unavailable", "插件系统未启用。")
    return rt.plugins


async def list_plugins(scope: Scope) -> list[PluginOut]:
    """Every installed plugin with this tenant's state and effective settings."""
    host = _host(scope.rt)
    tenant = await tenants.get_tenant(scope)
    out = []
    for name in host.names:
        info = host.info(name)
        out.append(
            PluginOut(
                name=name,
                title_zh=host.title(name),
                version=info.version,
                description=info.description,
                enabled=name in tenant.plugins,
                config=masked(host.config_for(tenant, name)),
            )
        )
    return out


def _validate_config(rt: Runtime, name: str, config: dict[str, Any]) -> dict[str, Any]:
    host = _host(rt)
    if not isinstance(config, dict):
        raise InvalidInput("config_format", "插件设置应为 JSON 对象。", field="config")
    # The plugin's defaults name every setting it has: anything else is a typo that would
    # be stored and silently never read.
    known = host.default_config(name)
    for key in config:
        if key not in known:
            choices = "、".join(sorted(known)) or "（无）"
            raise InvalidInput(
                "unknown_setting",
                f"插件 {name} 没有设置项“{key}”；可设置的有：{choices}。",
                field=key,
                plugin=name,
            )
    validated: dict[str, Any] = host.validate_config(name, config)
    return validated


async def configure(
    scope: Scope,
    name: str,
    *,
    enabled: bool | None = None,
    config: dict[str, Any] | None = None,
) -> PluginOut:
    """Enable/disable a plugin for the tenant and/or replace its tenant settings (merged
    over the plugin's defaults when read)."""
    host = _host(scope.rt)
    if not host.is_installed(name):
        raise NotFound("plugin_not_installed", f"插件 {name} 未安装。", field="plugin")
    tenant = await tenants.get_tenant(scope)
    if config is not None:
        if isinstance(config, dict):
            config = _unmasked(config, host.config_for(tenant, name))
        config = _validate_config(scope.rt, name, config)
    state = name in tenant.plugins if enabled is None else enabled
    await tenants.set_plugin(scope, name, enabled=state, config=config)
    return next(p for p in await list_plugins(scope) if p.name == name)
