"""Failed logins are throttled per account and per client address, answered 429 with
Retry-After before the password is looked at; 20 failures lock the account until an
admin unlocks it (API or CLI). Time is a FixedClock on the runtime; Redis is real."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import PASSWORD, REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
WRONG = "not-the-password-42"


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture
def clock(rt: Any, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    fixed = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=TIMEZONE))
    monkeypatch.setattr(rt, "clock", fixed)
    return fixed


@pytest.fixture
async def client_at(rt: Any) -> AsyncIterator[Any]:
    """Clients of the app seen from a given address (the ASGI scope's client)."""
    from core.web.app import create_app

    app = create_app(rt, manage_resources=False)
    opened: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


async def _login(c: httpx.AsyncClient, tenant: str, username: str, password: str) -> Any:
    page = await c.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return await c.post(
        "/login",
        data={
            "tenant": tenant,
            "username": username,
            "password": password,
            "next": "/",
            "_csrf_token": csrf.group(1),
        },
    )


def _retry_after(resp: Any) -> int:
    assert resp.status_code == 429, resp.text
    return int(resp.headers["retry-after"])


async def test_sixth_failed_login_in_a_minute_is_429_with_retry_after(
    make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    c = client_at(_address())
    for _ in range(5):
        assert (await _login(c, t.slug, "clerk", WRONG)).status_code == 401
    sixth = await _login(c, t.slug, "clerk", WRONG)
    assert 1 <= _retry_after(sixth) <= 60
    assert "登录尝试过于频繁" in sixth.text
    # The right password gets the same answer while throttled: no oracle.
    right = await _login(c, t.slug, "clerk", PASSWORD)
    assert _retry_after(right) <= 60 and "登录尝试过于频繁" in right.text

    clock.set(clock.now() + timedelta(seconds=61))
    assert (await _login(c, t.slug, "clerk", PASSWORD)).status_code == 303
    # A success clears the account: five more mistakes are free again.
    c2 = client_at(_address())
    for _ in range(5):
        assert (await _login(c2, t.slug, "clerk", WRONG)).status_code == 401


async def test_delays_grow_after_each_further_failure(
    make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    c = client_at(_address())
    for _ in range(5):
        await _login(c, t.slug, "leader", WRONG)
    waits = []
    for _ in range(3):
        waits.append(_retry_after(await _login(c, t.slug, "leader", WRONG)))
        clock.set(clock.now() + timedelta(seconds=waits[-1]))
        assert (await _login(c, t.slug, "leader", WRONG)).status_code == 401
    assert waits == [60, 120, 240]


async def _lock(c: httpx.AsyncClient, clock: FixedClock, slug: str, username: str) -> None:
    for i in range(20):
        resp = await _login(c, slug, username, WRONG)
        assert resp.status_code == 401, f"attempt {i + 1}: {resp.status_code}"
        clock.set(clock.now() + timedelta(minutes=16))  # past the longest delay


async def test_twenty_failures_lock_the_account_until_an_admin_unlocks_it(
    client: Any, make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    await _lock(client_at(_address()), clock, t.slug, "clerk")

    locked = await _login(client_at(_address()), t.slug, "clerk", PASSWORD)
    assert _retry_after(locked) > 0 and "已被锁定" in locked.text
    clock.set(clock.now() + timedelta(days=3))
    assert (await _login(client_at(_address()), t.slug, "clerk", PASSWORD)).status_code == 429

    clerk_id = t.users["clerk"]["id"]
    denied = await client.post(f"/api/v1/users/{clerk_id}/unlock", headers=t.headers("clerk"))
    assert denied.status_code == 403
    other = await make_tenant()
    foreign = await client.post(f"/api/v1/users/{clerk_id}/unlock", headers=other.headers("admin"))
    assert foreign.status_code == 404

    resp = await client.post(f"/api/v1/users/{clerk_id}/unlock", headers=t.headers("admin"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["was_locked"] is True and resp.json()["username"] == "clerk"
    assert (await _login(client_at(_address()), t.slug, "clerk", PASSWORD)).status_code == 303


async def test_cli_unlocks_a_locked_account(
    backend: Any, make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    await _lock(client_at(_address()), clock, t.slug, "handler")
    assert (await _login(client_at(_address()), t.slug, "handler", PASSWORD)).status_code == 429

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_ADMIN_URL"}
    env.update(
        XINFANG_DATA_DIR=str(backend.settings.data_dir),
        XINFANG_SECRET_KEY=TEST_SECRET,
        DATABASE_URL=backend.settings.database.url,
        REDIS_URL=REDIS_URL,
        PYTHONPATH=str(ROOT),
    )
    args = [sys.executable, "-m", "core.cli", "user", "unlock", "--tenant", t.slug, "handler"]
    done = await asyncio.to_thread(
        subprocess.run, args, env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "已解除锁定" in done.stdout
    assert (await _login(client_at(_address()), t.slug, "handler", PASSWORD)).status_code == 303

    unknown = await asyncio.to_thread(
        subprocess.run,
        [*args[:-1], "nobody"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 1 and "user_not_found" in unknown.stderr


async def test_failures_from_one_address_throttle_every_account_tried_from_it(
    rt: Any, make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    t = await make_tenant()
    address = _address()
    c = client_at(address)
    for username in ("clerk", "leader", "handler", "no-such-user", "supervisor"):
        assert (await _login(c, t.slug, username, WRONG)).status_code == 401
    # A sixth account, with its right password, from the same address: refused.
    assert 1 <= _retry_after(await _login(c, t.slug, "admin", PASSWORD)) <= 60
    # From another address the same account logs in.
    assert (await _login(client_at(_address()), t.slug, "admin", PASSWORD)).status_code == 303

    # Counters are keyed without raw personal data: no slug, username or address.
    keys = [k.decode() async for k in rt.redis.scan_iter(match="xf:login:*")]
    assert keys
    for key in keys:
        for raw in (t.slug, "clerk", "no-such-user", address):
            assert raw not in key


async def test_concurrent_guesses_at_one_account_get_five_password_checks(
    make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    """Attempts are counted when they start, atomically: a burst cannot slip 20 guesses
    past the check before the first failure is recorded."""
    t = await make_tenant()
    clients = [client_at(_address()) for _ in range(20)]
    pages = await asyncio.gather(*(c.get("/login") for c in clients))
    tokens = [re.search(r'name="_csrf_token" value="([^"]+)"', p.text) for p in pages]

    async def guess(c: httpx.AsyncClient, token: Any) -> int:
        data = {"tenant": t.slug, "username": "clerk", "password": WRONG, "next": "/"}
        resp = await c.post("/login", data={**data, "_csrf_token": token.group(1)})
        return int(resp.status_code)

    codes = await asyncio.gather(*(guess(c, tok) for c, tok in zip(clients, tokens, strict=True)))
    assert sorted(codes) == [401] * 5 + [429] * 15


async def test_a_full_password_pool_turns_logins_away_without_counting_them(
    make_tenant: Any, client_at: Any, clock: FixedClock
) -> None:
    """Argon2 runs in a bounded pool; when every place is taken a login is answered
    429 "busy" at once, and that attempt counts for no throttle."""
    from core import security

    t = await make_tenant()
    clients = [client_at(_address()) for _ in range(8)]
    pages = await asyncio.gather(*(c.get("/login") for c in clients))
    tokens = [re.search(r'name="_csrf_token" value="([^"]+)"', p.text) for p in pages]

    async def guess(c: httpx.AsyncClient, token: Any) -> Any:
        data = {"tenant": t.slug, "username": "clerk", "password": WRONG, "next": "/"}
        return await c.post("/login", data={**data, "_csrf_token": token.group(1)})

    security.configure_password_pool(threads=1, waiting_per_thread=0)  # one login at a time
    try:
        answers = await asyncio.gather(
            *(guess(c, tok) for c, tok in zip(clients, tokens, strict=True))
        )
    finally:
        security.configure_password_pool()
    busy = [a for a in answers if a.status_code == 429]
    checked = [a for a in answers if a.status_code == 401]
    assert busy and checked and len(busy) + len(checked) == 8
    assert all("同时登录的人太多" in a.text and a.headers["retry-after"] == "5" for a in busy)
    # Only the checked attempts counted: the account has 5 - len(checked) free ones left.
    c = client_at(_address())
    for _ in range(5 - len(checked)):
        assert (await _login(c, t.slug, "clerk", WRONG)).status_code == 401
    assert (await _login(c, t.slug, "clerk", WRONG)).status_code == 429
