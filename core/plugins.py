"""Plugin discovery and per-tenant hook calling.

Plugins are found by the entry-point group ``xinfang.plugins`` — the built-in sectors
register exactly as a third-party package would. Which plugins a tenant uses is data
(``tenant_plugin`` rows); :meth:`PluginHost.hooks_for` returns a hook caller that only
sees the tenant's enabled plugins, so a disabled plugin is never called for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from core import hookspecs

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "xinfang.plugins"


@dataclass(frozen=True)
class TenantInfo:
    id: int
    slug: str
    name: str
    rule_pack: str
    timezone: str
    settings: dict[str, Any] = field(default_factory=dict)
    plugins: frozenset[str] = frozenset()
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("xinfang")
        self.pm.add_hookspecs(hookspecs)
        self.modules: dict[str, ModuleType | object] = {}
        self._subset_cache: dict[tuple[str, frozenset[str]], Any] = {}

    @classmethod
    def discover(cls) -> PluginHost:
        host = cls()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                host.register(ep.name, ep.load())
            except Exception:
                log.exception("plugin %s failed to load; it stays unavailable", ep.name)
        return host

    def register(self, name: str, plugin: ModuleType | object) -> None:
        self.pm.register(plugin, name=name)
        self.modules[name] = plugin
        self._subset_cache.clear()

    @property
    def names(self) -> list[str]:
        return sorted(self.modules)

    def is_installed(self, name: str) -> bool:
        return name in self.modules

    def hook(self, name: str, enabled: frozenset[str]) -> Any:
        """The hook ``name`` restricted to the plugins in ``enabled``."""
        key = (name, enabled)
        caller = self._subset_cache.get(key)
        if caller is None:
            remove = [self.modules[n] for n in self.modules if n not in enabled]
            caller = self.pm.subset_hook_caller(name, remove_plugins=remove)
            self._subset_cache[key] = caller
        return caller

    def hooks_for(self, tenant: TenantInfo) -> _TenantHooks:
        return _TenantHooks(self, tenant.plugins)


class _TenantHooks:
    def __init__(self, host: PluginHost, enabled: frozenset[str]) -> None:
        self._host = host
        self._enabled = enabled

    def __getattr__(self, name: str) -> Any:
        return self._host.hook(name, self._enabled)
