"""The process-wide objects every service call needs, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.clock import Clock
from core.security import Keys
from core.settings import Settings, load_settings

if TYPE_CHECKING:
    from core.plugins import PluginHost


@dataclass
class Runtime:
    settings: Settings
    keys: Keys
    clock: Clock = field(default_factory=Clock)
    plugins: PluginHost | None = None
    redis: Any = None
    """An ``arq.ArqRedis`` pool when connected (web: for enqueueing and /readyz)."""
    redis_socket: str | None = None
    """Unix socket of the embedded Redis, when that is what runs."""

    _packs: dict[str, Any] = field(default_factory=dict)

    def rule_pack(self, name: str) -> Any:
        """The tenant's rule pack, parsed once per process."""
        pack = self._packs.get(name)
        if pack is None:
            from core.rulepacks import load_pack

            pack = self._packs[name] = load_pack(name, extra_dirs=self.settings.rulepack_dirs)
        return pack

    @classmethod
    def build(cls, settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
        from core.plugins import PluginHost

        settings = settings or load_settings()
        return cls(
            settings=settings,
            keys=Keys.from_secrets(settings.secret_key, settings.previous_secret_keys),
            clock=clock or Clock(),
            plugins=PluginHost.discover(),
        )
