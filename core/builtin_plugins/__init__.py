"""Core's own hook implementations, registered by every :class:`core.plugins.PluginHost`
before the installed plugins and called for every tenant, as the fallback
(``trylast``): they use the public plugin API like any plugin, and are never listed,
enabled or configured as one. Each is ``(name, module)`` in :data:`BUILTINS`."""

from __future__ import annotations

from types import ModuleType

from core.builtin_plugins import categories

BUILTINS: tuple[tuple[str, ModuleType], ...] = (("core.categories", categories),)
