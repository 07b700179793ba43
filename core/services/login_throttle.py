"""Failed-login throttling per account and per client address, counted in Redis.

Rules (docs/security.md, "Login throttling"):
- the first ``FREE_FAILURES`` (5) failures in a row cost nothing; after them the next
  attempt waits ``BASE_DELAY`` (60 s) from the last one, doubling with each further
  failure up to ``MAX_DELAY`` — hence at most 5 failures a minute;
- the same for the client address, across every account it tries (a password spray);
- after ``LOCK_AFTER`` (20) failures in a row the account is locked until an admin unlocks
  it (``xinfang user unlock``, ``POST /api/v1/users/{id}/unlock``) — addresses are never
  locked, only slowed, so one office behind a NAT cannot lock itself out;
- a refused attempt is answered 429 with ``Retry-After`` *before* the password is looked
  at, so a right password during a wait or a lock learns nothing (no oracle), and costs
  no Argon2 check;
- a success clears the account's count; the address keeps its failures.

Each attempt is counted as a failure when it starts (one atomic script checks and counts),
so 200 concurrent guesses at one account get 5 checks, not 200; a success or an error
that is not a wrong password takes the count back. Keys are keyed hashes (HMAC under the
application secret) of tenant + username and of the address: no raw name or address is
stored in Redis. Unknown tenants and usernames are counted the same way, so throttling
does not tell which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import TooManyRequests
from core.runtime import Runtime
from core.services.scope import Scope

FREE_FAILURES = 5
BASE_DELAY = 60
MAX_DELAY = 15 * 60
LOCK_AFTER = 20
ACCOUNT_TTL = 24 * 3600
"""A failure count without a new failure for a day is forgotten (unless locked)."""
ADDRESS_TTL = 3600
LOCKED_RETRY_AFTER = 3600
_PREFIX = "xf:login:"

# KEYS: account, address. ARGV: now, free, base, max delay, lock after, account ttl,
# address ttl. Returns {0, 0} (go: counted), {1, 0} (locked) or {2, seconds} (wait).
_ATTEMPT = """
local now = tonumber(ARGV[1])
local free, base, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lock_after = tonumber(ARGV[5])
local function state(key)
  local v = redis.call('HMGET', key, 'fails', 'last')
  local fails, last = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  if fails < free then return fails, 0 end
  local delay = math.min(base * 2 ^ (fails - free), cap)
  return fails, math.max(0, last + delay - now)
end
local account_fails, account_wait = state(KEYS[1])
if account_fails >= lock_after then return {1, 0} end
local wait = account_wait
if KEYS[2] ~= KEYS[1] then
  local _, address_wait = state(KEYS[2])
  wait = math.max(wait, address_wait)
end
if wait > 0 then return {2, math.ceil(wait)} end
redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
if account_fails + 1 >= lock_after then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
if KEYS[2] ~= KEYS[1] then
  redis.call('HINCRBY', KEYS[2], 'fails', 1)
  redis.call('HSET', KEYS[2], 'last', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
end
return {0, 0}
"""

# KEYS: account, address. ARGV[1] = '1' after a success (clear the account).
_TAKE_BACK = """
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(redis.call('HGET', KEYS[1], 'fails') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'fails', -1)
end
if KEYS[2] ~= KEYS[1] and tonumber(redis.call('HGET', KEYS[2], 'fails') or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], 'fails', -1)
end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    """A counted login attempt: keep it (a failure) or take it back."""

    account_key: str
    address_key: str


def _account_key(rt: Runtime, tenant_slug: str, username: str) -> str:
    who = f"{tenant_slug.strip().casefold()}\x00{username.strip().casefold()}"
    return _PREFIX + "a:" + rt.keys.blind_index(who, purpose="login.account")


def _address_key(rt: Runtime, address: str | None) -> str:
    return _PREFIX + "ip:" + rt.keys.blind_index(address or "unknown", purpose="login.address")


def _redis(rt: Runtime) -> Any:
    if rt.redis is None:
        raise RuntimeError("login throttling needs Redis (rt.redis)")
    return rt.redis


async def begin(rt: Runtime, tenant_slug: str, username: str, address: str | None) -> Attempt:
    """Count an attempt, or refuse it with ``TooManyRequests`` (429, Retry-After)."""
    attempt = Attempt(_account_key(rt, tenant_slug, username), _address_key(rt, address))
    status, wait = await _redis(rt).eval(
        _ATTEMPT,
        2,
        attempt.account_key,
        attempt.address_key,
        f"{rt.clock.now().timestamp():.3f}",
        FREE_FAILURES,
        BASE_DELAY,
        MAX_DELAY,
        LOCK_AFTER,
        ACCOUNT_TTL,
        ADDRESS_TTL,
    )
    if int(status) == 1:
        raise TooManyRequests(
            "account_locked",
            "登录失败次数过多，该账号已被锁定，请联系本机构管理员解锁。",
            retry_after=LOCKED_RETRY_AFTER,
        )
    if int(status) == 2:
        seconds = max(1, int(wait))
        raise TooManyRequests(
            "too_many_attempts",
            f"登录尝试过于频繁，请 {seconds} 秒后再试。",
            retry_after=seconds,
        )
    return attempt


async def succeeded(rt: Runtime, attempt: Attempt) -> None:
    """Right password: the account starts afresh; the attempt leaves the address count."""
    await _redis(rt).eval(_TAKE_BACK, 2, attempt.account_key, attempt.address_key, "1")


async def take_back(rt: Runtime, attempt: Attempt) -> None:
    """The attempt ended without an answer on the password (an error): do not count it."""
    await _redis(rt).eval(_TAKE_BACK, 2, attempt.account_key, attempt.address_key, "0")


async def unlock(scope: Scope, username: str) -> bool:
    """Clear the account's failures and lock; True if it was locked."""
    key = _account_key(scope.rt, scope.tenant_slug, username)
    redis = _redis(scope.rt)
    fails = await redis.hget(key, "fails")
    await redis.delete(key)
    return fails is not None and int(fails) >= LOCK_AFTER


async def is_locked(scope: Scope, username: str) -> bool:
    return username in await locked_of(scope, [username])


async def locked_of(scope: Scope, usernames: list[str]) -> set[str]:
    """Which of ``usernames`` are locked now: one round trip for a whole user list."""
    pipe = _redis(scope.rt).pipeline(transaction=False)
    for username in usernames:
        pipe.hget(_account_key(scope.rt, scope.tenant_slug, username), "fails")
    fails = await pipe.execute()
    return {
        u for u, f in zip(usernames, fails, strict=True) if f is not None and int(f) >= LOCK_AFTER
    }
