"""Plugin discovery and per-tenant hook calling.

Plugins are found by the entry-point group ``xinfang.plugins`` — the built-in sectors
register exactly as a third-party package would. Which plugins a tenant uses is data
(``tenant_plugin`` rows); :meth:`PluginHost.hooks_for` returns a hook caller that only
sees the tenant's enabled plugins, so a disabled plugin is never called for it.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from core import hookspecs
from core.errors import DomainError, PluginFailure
from core.logsafe import Verbatim

if TYPE_CHECKING:
    from core.runtime import Runtime

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


@dataclass(frozen=True)
class HookContext:
    """What a hook implementation gets besides the tenant: the runtime and its own
    settings for this tenant (defaults overlaid with the tenant's values)."""

    rt: Runtime
    plugin: str
    config: dict[str, Any]

    def today(self) -> Any:
        return self.rt.clock.today()

    def now(self) -> Any:
        return self.rt.clock.now()


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
        """Add a plugin; its tables (``xinfang_tables``) are bound to the core engine."""
        from core.db.engine import register_tables

        self.pm.register(plugin, name=name)
        self.modules[name] = plugin
        self._subset_cache.clear()
        tables = getattr(plugin, "xinfang_tables", None)
        if tables is not None:
            register_tables(tables() or [])

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        del self.modules[name]
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

    def info(self, name: str) -> dict[str, Any]:
        impl = getattr(self.modules[name], "xinfang_plugin_info", None)
        meta = dict(impl() or {}) if impl else {}
        meta.setdefault("name", name)
        meta.setdefault("title_zh", name)
        return meta

    def default_config(self, name: str) -> dict[str, Any]:
        impl = getattr(self.modules[name], "xinfang_default_config", None)
        return dict(impl() or {}) if impl else {}

    def config_for(self, tenant: TenantInfo, name: str) -> dict[str, Any]:
        """Tenant value over the plugin's default (``xinfang_default_config``)."""
        return {**self.default_config(name), **(tenant.plugin_config.get(name) or {})}

    def impls(self, hook: str, enabled: frozenset[str] | None = None) -> list[tuple[str, Any]]:
        """(plugin name, function) of every implementation of ``hook``, in pluggy's call
        order, restricted to ``enabled`` (None: every installed plugin)."""
        caller = getattr(self.pm.hook, hook)
        out = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls LIFO
            if enabled is None or impl.plugin_name in enabled:
                out.append((impl.plugin_name, impl.function))
        return out

    def _prepare(
        self, rt: Runtime, tenant: TenantInfo, name: str, fn: Any, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        ctx = HookContext(rt=rt, plugin=name, config=self.config_for(tenant, name))
        params = inspect.signature(fn).parameters
        args = {"tenant": tenant, "ctx": ctx, **kwargs}
        return {k: v for k, v in args.items() if k in params}

    def _failure(self, tenant: TenantInfo, name: str, hook: str, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):  # a refusal the plugin means: pass it on
            exc.details.setdefault("plugin", name)
            return exc
        # The exception's message may carry personal data: log its type and where it
        # was raised, never its text.
        log.error(
            "plugin %s failed in %s for tenant %s (%s)\n%s",
            name,
            hook,
            tenant.slug,
            type(exc).__name__,
            Verbatim("".join(traceback.format_tb(exc.__traceback__))),
        )
        title = self.info(name).get("title_zh", name)
        return PluginFailure(
            "plugin_failed",
            f"插件“{title}”（{name}）处理时出错，请稍后重试或联系系统管理员。",
            plugin=name,
            hook=hook,
        )

    async def call(
        self, rt: Runtime, tenant: TenantInfo, hook: str, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Call ``hook`` on the tenant's enabled plugins, one at a time, awaiting async
        implementations. A DomainError a plugin raises on purpose passes through; any
        other exception is logged with context and becomes a PluginFailure naming the
        plugin. Returns (plugin, result) for every non-None result."""
        results = []
        for name, fn in self.impls(hook, tenant.plugins):
            try:
                value = fn(**self._prepare(rt, tenant, name, fn, kwargs))
                if inspect.isawaitable(value):
                    value = await value
            except Exception as exc:
                raise self._failure(tenant, name, hook, exc) from exc
            if value is not None:
                results.append((name, value))
        return results

    def call_sync(
        self, rt: Runtime, tenant: TenantInfo, hook: str, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """:meth:`call` for hooks whose callers are synchronous (implementations must be)."""
        results = []
        for name, fn in self.impls(hook, tenant.plugins):
            try:
                value = fn(**self._prepare(rt, tenant, name, fn, kwargs))
            except Exception as exc:
                raise self._failure(tenant, name, hook, exc) from exc
            if value is not None:
                results.append((name, value))
        return results

    def call_global(self, hook: str) -> list[tuple[str, Any]]:
        """Call a process-wide hook (routes, tables) on every installed plugin."""
        results = []
        for name, fn in self.impls(hook):
            try:
                value = fn()
            except Exception:
                log.exception("plugin %s failed in %s; skipped", name, hook)
                continue
            if value is not None:
                results.append((name, value))
        return results

    def hooks_for(self, tenant: TenantInfo) -> _TenantHooks:
        return _TenantHooks(self, tenant.plugins)


class _TenantHooks:
    def __init__(self, host: PluginHost, enabled: frozenset[str]) -> None:
        self._host = host
        self._enabled = enabled

    def __getattr__(self, name: str) -> Any:
        return self._host.hook(name, self._enabled)
