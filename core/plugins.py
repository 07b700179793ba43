"""Plugin discovery and per-tenant hook calling: the door between core and the plugins.

Plugins are found by the entry-point group ``xinfang.plugins`` — the built-in sectors
register exactly as a third-party package would — after core's own implementations
(:mod:`core.builtin_plugins`, called for every tenant as the fallback). Which plugins a
tenant uses is data (``tenant_plugin`` rows): :meth:`PluginHost.call` calls a hook on the
tenant's enabled plugins only, gives each its :class:`~core.plugin_api.HookContext`,
and converts what it returns into the type its hookspec declares. Plugins see only
:mod:`core.plugin_api`; this module is core's side of it.
"""

from __future__ import annotations

import inspect
import logging
import re
import traceback
import types
import typing
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Protocol

import msgspec
import pluggy

from core.builtin_plugins import BUILTINS
from core.domain import rota as dr
from core.errors import DomainError, PluginFailure
from core.logsafe import Verbatim
from core.plugin_api import (
    Clock,
    Facades,
    HookContext,
    PluginInfo,
    RotaTemplate,
    TenantInfo,
    hookspecs,
)
from core.plugin_api.context import Actor

__all__ = ["ENTRY_POINT_GROUP", "HookContext", "PluginHost", "TenantInfo", "domain_rota_template"]

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "xinfang.plugins"
# Kept as they are when a return is checked: msgspec converts them into their fields.
_KEEP = (datetime, date, time, timedelta)


class HasClock(Protocol):
    """What the host needs of the runtime: the clock (``ctx.today()``, ``ctx.now()``)."""

    @property
    def clock(self) -> Clock: ...


@cache
def returns(hook: str) -> Any:
    """The type a hook's result is converted into (its hookspec's return annotation,
    without ``None``); None for hooks whose result is not kept."""
    hint = typing.get_type_hints(getattr(hookspecs, hook))["return"]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kept = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = kept[0] if len(kept) == 1 else typing.Union[tuple(kept)]  # noqa: UP007
    return None if hint is type(None) else hint


def check_return(hook: str, value: Any) -> Any:
    """``value`` as the type ``hook`` declares; raises ``msgspec.ValidationError``. A
    Struct a plugin built is checked too: it goes through its builtin form."""
    kind = returns(hook)
    if kind is None:
        return value
    return msgspec.convert(msgspec.to_builtins(value, builtin_types=_KEEP), kind)


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.modules: dict[str, ModuleType | object] = {}
        self.builtins: frozenset[str] = frozenset(name for name, _ in BUILTINS)
        for name, module in BUILTINS:
            self.pm.register(module, name=name)

    @classmethod
    def discover(cls) -> PluginHost:
        """Core's built-ins (registered by the constructor), then every installed plugin."""
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
        tables = getattr(plugin, "xinfang_tables", None)
        if tables is not None:
            register_tables(tables() or [])

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        del self.modules[name]

    @property
    def names(self) -> list[str]:
        """The installed plugins (core's built-ins are not among them)."""
        return sorted(self.modules)

    def is_installed(self, name: str) -> bool:
        return name in self.modules

    def is_builtin(self, name: str) -> bool:
        return name in self.builtins

    def info(self, name: str) -> PluginInfo:
        """``xinfang_plugin_info`` with the name standing in for a missing name or title;
        a malformed one is logged and only the name is shown."""
        impl = getattr(self.pm.get_plugin(name), "xinfang_plugin_info", None)
        info = PluginInfo()
        if impl is not None:
            try:
                info = check_return("xinfang_plugin_info", impl() or {})
            except Exception:
                log.exception("plugin %s: xinfang_plugin_info failed; name shown instead", name)
        return msgspec.structs.replace(
            info,
            name=name if info.name is msgspec.UNSET else info.name,
            title_zh=name if info.title_zh is msgspec.UNSET else info.title_zh,
        )

    def title(self, name: str) -> str:
        title = self.info(name).title_zh
        return name if title is msgspec.UNSET else title

    def default_config(self, name: str) -> dict[str, Any]:
        impl = getattr(self.pm.get_plugin(name), "xinfang_default_config", None)
        if impl is None:
            return {}
        config: dict[str, Any] = check_return("xinfang_default_config", impl() or {})
        return config

    def config_for(self, tenant: TenantInfo, name: str) -> dict[str, Any]:
        """Tenant value over the plugin's default (``xinfang_default_config``)."""
        return {**self.default_config(name), **(tenant.plugin_config.get(name) or {})}

    def validate_config(self, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """The plugin's ``xinfang_validate_config`` of new tenant settings (its refusals
        pass through); the settings unchanged when it has none or returns None."""
        for plugin, fn in self.impls("xinfang_validate_config"):
            if plugin == name:
                result = fn(config=config)
                if result is not None:
                    config = check_return("xinfang_validate_config", result)
        return config

    def impls(self, hook: str, enabled: frozenset[str] | None = None) -> list[tuple[str, Any]]:
        """(plugin name, function) of every implementation of ``hook``, in pluggy's call
        order, restricted to ``enabled`` and core's built-ins (None: every plugin)."""
        caller = getattr(self.pm.hook, hook)
        out = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls LIFO
            name = impl.plugin_name
            if enabled is None or name in enabled or name in self.builtins:
                out.append((name, impl.function))
        return out

    def context(
        self,
        rt: HasClock,
        tenant: TenantInfo,
        name: str,
        *,
        facades: Facades | None = None,
        actor: Actor | None = None,
    ) -> HookContext:
        """The ``ctx`` plugin ``name`` gets for ``tenant``."""
        return HookContext(
            plugin=name,
            tenant=tenant,
            config=self.config_for(tenant, name),
            clock=rt.clock,
            actor=actor,
            facades=facades,
        )

    def _prepare(
        self,
        rt: HasClock,
        tenant: TenantInfo,
        name: str,
        fn: Any,
        facades: Facades | None,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        params = inspect.signature(fn).parameters
        args = dict(kwargs, tenant=tenant)
        if "ctx" in params:
            args["ctx"] = self.context(rt, tenant, name, facades=facades)
        return {k: v for k, v in args.items() if k in params}

    def _failure(self, tenant: TenantInfo, name: str, hook: str, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):  # a refusal the plugin means: pass it on
            exc.details.setdefault("plugin", name)
            return exc
        # The exception's message may carry personal data: log its type and where it
        # was raised, never its text — but for a malformed return, what was wrong where
        # (quoted values left out).
        shape = ""
        if isinstance(exc, msgspec.ValidationError):
            shape = ": " + re.sub(r"'[^']*'", "'…'", str(exc))
        log.error(
            "plugin %s failed in %s for tenant %s (%s%s)\n%s",
            name,
            hook,
            tenant.slug,
            type(exc).__name__,
            shape,
            Verbatim("".join(traceback.format_tb(exc.__traceback__))),
        )
        title = self.title(name)
        return PluginFailure(
            "plugin_failed",
            f"插件“{title}”（{name}）处理时出错，请稍后重试或联系系统管理员。",
            plugin=name,
            hook=hook,
        )

    async def call(
        self,
        rt: HasClock,
        tenant: TenantInfo,
        hook: str,
        *,
        facades: Facades | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Call ``hook`` on core's built-ins and the tenant's enabled plugins, one at a
        time, awaiting async implementations; ``facades`` are what ``ctx`` offers. A
        DomainError a plugin raises on purpose passes through; any other exception, and
        a return that is not the hookspec's type, is logged with context and becomes a
        PluginFailure naming the plugin. Returns (plugin, converted result) for every
        non-None result."""
        results = []
        for name, fn in self.impls(hook, tenant.plugins):
            try:
                value = fn(**self._prepare(rt, tenant, name, fn, facades, kwargs))
                if inspect.isawaitable(value):
                    value = await value
                if value is not None:
                    results.append((name, check_return(hook, value)))
            except Exception as exc:
                raise self._failure(tenant, name, hook, exc) from exc
        return results

    def call_sync(
        self,
        rt: HasClock,
        tenant: TenantInfo,
        hook: str,
        *,
        facades: Facades | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """:meth:`call` for hooks whose callers are synchronous (implementations must be)."""
        results = []
        for name, fn in self.impls(hook, tenant.plugins):
            try:
                value = fn(**self._prepare(rt, tenant, name, fn, facades, kwargs))
                if value is not None:
                    results.append((name, check_return(hook, value)))
            except Exception as exc:
                raise self._failure(tenant, name, hook, exc) from exc
        return results

    def call_global(self, hook: str) -> list[tuple[str, Any]]:
        """Call a process-wide hook (routes, tables) on every installed plugin."""
        results = []
        for name, fn in self.impls(hook):
            if name in self.builtins:
                continue
            try:
                value = fn()
            except Exception:
                log.exception("plugin %s failed in %s; skipped", name, hook)
                continue
            if value is not None:
                results.append((name, value))
        return results


def domain_rota_template(t: RotaTemplate) -> dr.RotaTemplate:
    """A plugin's expandable rota template as core's (``validate()`` it before use).
    Empty ``slots`` are core's standard half-days."""
    if t.cadence not in dr.PATTERNS:
        raise ValueError(f"rota template {t.code} ({t.cadence}) is a form, not a rota")
    return dr.RotaTemplate(
        key=t.code,
        title_zh=t.title_zh,
        role=t.kind,
        pattern=t.cadence,  # narrowed by the PATTERNS check above
        weekdays=frozenset(t.weekdays),
        slots=tuple(dr.SlotSpec(s.half, s.start, s.end) for s in t.slots) or dr.STANDARD_SLOTS,
        place=t.place,
        topics=t.topics,
        leaders=t.leaders,
        standby=t.standby,
        holiday_policy=t.holiday_policy,
        makeup_workdays=t.makeup_workdays,
        leaders_per_slot=t.leaders_per_slot,
        same_leader_whole_day=t.same_leader_whole_day,
    )
