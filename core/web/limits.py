"""Overload: a bound on the requests one web process works on at once.

At most ``XINFANG_MAX_INFLIGHT`` requests run at a time; as many again wait for a free
slot, each for at most :data:`QUEUE_WAIT` seconds; everything beyond is answered at once
with 503, ``Retry-After: 1`` and ``{"error": {"code": "overloaded", ...}}`` — before the
body is read, the session decoded or the token looked up. So a burst costs a bounded
amount of memory and database work, and its excess gets an answer a client can act on
instead of a timeout or a 500 (docs/security.md, "Overload"). The probes are exempt:
``/healthz`` must say the process lives and ``/readyz`` what it depends on, busy or not.

The database pool (``XINFANG_DB_POOL_SIZE``) may be smaller than the limit: requests
then queue for a connection inside their slot, bounded by the slots.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

QUEUE_WAIT = 5.0
"""Seconds a request waits for a slot before it is refused after all."""
EXEMPT = frozenset({"/healthz", "/readyz"})
RETRY_AFTER = "1"
OVERLOADED = json.dumps(
    {"error": {"code": "overloaded", "message": "系统繁忙，请稍后重试。"}},
    ensure_ascii=False,
).encode()


class Limiter:
    """Slots and a bounded queue, shared by every route of one app (one process)."""

    def __init__(self, inflight: int, queue: int | None = None, wait: float = QUEUE_WAIT):
        if inflight < 1:
            raise ValueError("inflight must be at least 1")
        self.inflight = inflight
        self.queue = inflight if queue is None else queue
        self.wait = wait
        self.waiting = 0
        self._slots = asyncio.Semaphore(inflight)

    async def acquire(self) -> bool:
        """Take a slot (waiting in the queue if there is room); False: refuse."""
        if not self._slots.locked():
            await self._slots.acquire()
            return True
        if self.waiting >= self.queue:
            return False
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._slots.release()


class ConcurrencyLimit:
    """ASGI middleware around the app's routes; see the module docstring."""

    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if not await self.limiter.acquire():
            await overloaded(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release()


async def overloaded(send: Send) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(OVERLOADED)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
        (b"cache-control", b"no-store"),
    ]
    start: Any = {"type": "http.response.start", "status": 503, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": OVERLOADED, "more_body": False})


def limit_middleware(max_inflight: int) -> DefineMiddleware:
    """The middleware entry for ``Litestar(middleware=[...])``, first in the list."""
    return DefineMiddleware(ConcurrencyLimit, limiter=Limiter(max_inflight))
