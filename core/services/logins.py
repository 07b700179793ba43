"""Staff login sessions, kept server-side in Redis (docs/security.md, "Sessions and tokens").

The ``xf_session`` cookie holds only a random id; the data lives in Litestar's
``RedisStore`` under ``xf:session:<id>``, expiring at an absolute time fixed at login.
Each user's ids are indexed under ``xf:user-sessions:<tenant>:<user>`` so that a password
change or a deactivation can end all of them.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.stores.redis import RedisStore

from core.runtime import Runtime
from core.services.scope import Scope

NAMESPACE = "xf:session"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
"""What ``secrets.token_urlsafe(32)`` makes; any other cookie value is no session."""


def store(redis: Any) -> RedisStore:
    # Built per call: the Redis pool is (re)connected in the app's lifespan, after the
    # app exists, and a RedisStore is only a key prefix plus two script handles.
    return RedisStore(redis, namespace=NAMESPACE)


def _index(tenant_id: int, user_id: int) -> str:
    return f"xf:user-sessions:{tenant_id}:{user_id}"


def _redis(rt: Runtime) -> Any:
    if rt.redis is None:
        raise RuntimeError("Redis is not connected: sessions cannot be revoked")
    return rt.redis


async def remember(rt: Runtime, session_id: str, tenant_id: int, user_id: int) -> None:
    """Index a new session under its user (the index outlives every session in it)."""
    key = _index(tenant_id, user_id)
    async with _redis(rt).pipeline(transaction=True) as pipe:
        pipe.sadd(key, session_id)
        pipe.expire(key, rt.settings.session_max_age)
        await pipe.execute()


async def forget(rt: Runtime, session_id: str, tenant_id: int | None, user_id: int | None) -> None:
    """End one session (logout, or replaced by a new login)."""
    await store(_redis(rt)).delete(session_id)
    if tenant_id is not None and user_id is not None:
        await _redis(rt).srem(_index(tenant_id, user_id), session_id)


async def revoke_user(scope: Scope, user_id: int, keep: str | None = None) -> int:
    """End every session of the scope's user ``user_id`` except ``keep``; returns how
    many were live. (``remember`` and ``forget`` run in the session store, below any
    scope, on the ids the session carries.)"""
    redis = _redis(scope.rt)
    key = _index(scope.tenant_id, user_id)
    ids = [m.decode() if isinstance(m, bytes) else m for m in await redis.smembers(key)]
    ids = [i for i in ids if i != keep]
    if not ids:
        return 0
    async with redis.pipeline(transaction=True) as pipe:
        for i in ids:
            pipe.delete(f"{NAMESPACE}:{i}")  # RedisStore's key for id ``i``
        pipe.srem(key, *ids)
        results = await pipe.execute()
    return sum(int(n) for n in results[: len(ids)])
