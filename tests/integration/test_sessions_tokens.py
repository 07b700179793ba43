"""Sessions and tokens (docs/security.md "Sessions and tokens"), over HTTP on both engines:
server-side sessions with an absolute lifetime, revoked on logout, password change and
deactivation; capped, listable, revocable API tokens; the CLI for both."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FixedClock
from core.db.engine import tenant_tx
from core.db.tables import ApiToken, AuditLog
from tests.conftest import PASSWORD, REDIS_URL, TEST_SECRET, client_address

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "new-horse-battery-staple"


@asynccontextmanager
async def browser(rt: Any, cookie: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser on the same app; ``cookie`` is a copied ``xf_session`` value."""
    from core.web.app import create_app

    transport = httpx.ASGITransport(
        app=create_app(rt, manage_resources=False), client=(client_address(), 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        if cookie:
            c.cookies.set("xf_session", cookie, domain="testserver.local")
        yield c


async def csrf_of(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def login(
    client: httpx.AsyncClient, slug: str, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/login",
        data={
            "tenant": slug,
            "username": username,
            "password": password,
            "next": "/",
            "_csrf_token": await csrf_of(client),
        },
    )


def session_cookie(resp: httpx.Response) -> str | None:
    """The ``xf_session`` value a response sets, if it sets one."""
    for header in resp.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == "xf_session":
            return rest.split(";", 1)[0]
    return None


async def me(client: httpx.AsyncClient, **kw: Any) -> httpx.Response:
    return await client.get("/api/v1/me", **kw)


async def audit_actions(tenant_id: int) -> list[str]:
    async with tenant_tx(tenant_id, write=False):
        rows = await AuditLog.select(AuditLog.action).where(AuditLog.tenant_id == tenant_id)
    return [r["action"] for r in rows]


async def test_logout_kills_a_copied_session_cookie(rt: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    async with browser(rt) as staff:
        resp = await login(staff, t.slug, "clerk")
        assert resp.status_code == 303, resp.text
        copied = session_cookie(resp)
        assert copied
        async with browser(rt, copied) as thief:
            assert (await me(thief)).status_code == 200
        home = await staff.get("/")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', home.text)
        assert csrf, home.text
        out = await staff.post("/logout", data={"_csrf_token": csrf.group(1)})
        assert out.status_code == 303
        assert (await me(staff)).status_code == 401
    async with browser(rt, copied) as thief:
        resp = await me(thief)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"


async def test_csrf_tokens_are_signed_with_the_hkdf_subkey(rt: Any) -> None:
    from core import security
    from core.web.app import create_app

    config = create_app(rt, manage_resources=False).csrf_config
    assert config is not None
    assert config.secret == security.csrf_secret(rt.settings.secret_key)
    assert rt.settings.secret_key not in config.secret


async def test_session_lifetime_is_absolute_from_login(rt: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    max_age = rt.settings.session_max_age
    login_at = rt.clock.now()
    saved = rt.clock
    try:
        async with browser(rt) as staff:
            resp = await login(staff, t.slug, "clerk")
            sid = session_cookie(resp)
            assert sid and f"Max-Age={max_age}" in resp.headers["set-cookie"]
            # Later requests neither re-issue the cookie nor extend the stored session.
            for _ in range(3):
                again = await me(staff)
                assert again.status_code == 200 and session_cookie(again) is None
            ttl = await rt.redis.ttl(f"xf:session:{sid}")
            assert 0 < ttl <= max_age
            rt.clock = FixedClock(login_at + timedelta(seconds=max_age - 60))
            still = await me(staff)
            assert still.status_code == 200 and session_cookie(still) is None
            rt.clock = FixedClock(login_at + timedelta(seconds=max_age + 1))
            assert (await me(staff)).status_code == 401
            page = await staff.get("/", headers={"accept": "text/html"}, follow_redirects=False)
            assert page.status_code in (302, 303) and "/login" in page.headers["location"]
    finally:
        rt.clock = saved


async def test_a_new_login_gets_a_new_session_id(rt: Any, make_tenant: Any) -> None:
    """An id planted before login (session fixation) is never adopted."""
    t = await make_tenant()
    planted = secrets.token_urlsafe(32)
    async with browser(rt, planted) as victim:
        resp = await login(victim, t.slug, "clerk")
        issued = session_cookie(resp)
        assert issued and issued != planted
    async with browser(rt, planted) as attacker:
        assert (await me(attacker)).status_code == 401


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "null", "%00%ff", "a" * 3000, "e30=.x.y", "A" * 43, "W10="],
)
async def test_a_malformed_session_cookie_is_no_session(
    rt: Any, make_tenant: Any, cookie: str
) -> None:
    t = await make_tenant()
    async with browser(rt, cookie) as c:
        page = await c.get("/login")
        assert page.status_code == 200 and "工作人员登录" in page.text
        resp = await me(c)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"
        assert (await me(c, headers=t.headers())).status_code == 200
        home = await c.get("/", headers={"accept": "text/html"}, follow_redirects=False)
        assert home.status_code in (302, 303)
        assert (await login(c, t.slug, "clerk")).status_code == 303


async def test_anonymous_requests_store_no_session(rt: Any, make_tenant: Any) -> None:
    async with browser(rt) as c:
        for path in ("/login", "/api/v1/me", "/"):
            resp = await c.get(path, follow_redirects=False)
            assert session_cookie(resp) is None, path


async def test_password_change_revokes_every_session(rt: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    async with browser(rt) as desk, browser(rt) as laptop:
        assert (await login(desk, t.slug, "clerk")).status_code == 303
        assert (await login(laptop, t.slug, "clerk")).status_code == 303
        url = "/api/v1/me/password"
        wrong = await desk.post(
            url,
            json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
            headers=t.headers(),
        )
        assert wrong.status_code == 422
        assert wrong.json()["error"]["field"] == "current_password"
        weak = await desk.post(
            url,
            json={"current_password": PASSWORD, "new_password": "12345678"},
            headers=t.headers(),
        )
        assert weak.status_code == 422 and weak.json()["error"]["field"] == "new_password"
        # Refused attempts changed nothing.
        assert (await me(desk)).status_code == 200 and (await me(laptop)).status_code == 200
        ok = await desk.post(
            url,
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=t.headers(),
        )
        assert ok.status_code == 200, ok.text
        # At least these two: the test Redis also holds sessions of earlier runs, whose
        # databases had users with the same ids.
        assert ok.json()["sessions_revoked"] >= 2
        assert (await me(desk)).status_code == 401
        assert (await me(laptop)).status_code == 401
        # API tokens are not sessions: the caller's token keeps working.
        assert (await me(desk, headers=t.headers())).status_code == 200
    async with browser(rt) as c:
        assert (await login(c, t.slug, "clerk")).status_code == 401
        assert (await login(c, t.slug, "clerk", NEW_PASSWORD)).status_code == 303
    assert "user.password_changed" in await audit_actions(t.id)


async def test_token_lifetime_is_capped(rt: Any, client: Any, make_tenant: Any) -> None:
    from core.services import tenants, users
    from core.services.scope import Scope

    t = await make_tenant()
    now = rt.clock.now()
    default_max = rt.settings.token_max_ttl_days
    resp = await client.post("/api/v1/me/tokens", json={"ttl_days": None}, headers=t.headers())
    assert resp.status_code == 201, resp.text
    expires = resp.json()["expires_at"]
    assert expires is not None
    from datetime import datetime

    days = (datetime.fromisoformat(expires) - now).total_seconds() / 86400
    assert default_max - 1 < days <= default_max + 1
    resp = await client.post(
        "/api/v1/me/tokens", json={"ttl_days": default_max + 1}, headers=t.headers()
    )
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "ttl_days"

    # A tenant's own maximum.
    slug = f"cap-{secrets.token_hex(4)}"
    info = await tenants.create_tenant(
        rt, slug=slug, name="短期令牌机构", settings={"token_max_ttl_days": 30}
    )
    sc = Scope.system(rt, info.id, slug)
    user = await users.create_user(
        sc, username="clerk", display_name="c", password=PASSWORD, roles=["clerk"]
    )
    token, _ = await users.create_token(sc, user["id"], name="t", ttl_days=30)
    auth = {"Authorization": f"Bearer {token}"}
    too_long = await client.post("/api/v1/me/tokens", json={"ttl_days": 31}, headers=auth)
    assert too_long.status_code == 422, too_long.text
    assert (
        too_long.json()["error"]["field"] == "ttl_days"
        and "30" in too_long.json()["error"]["message"]
    )
    capped = await client.post("/api/v1/me/tokens", json={}, headers=auth)
    assert capped.status_code == 201
    days = (datetime.fromisoformat(capped.json()["expires_at"]) - now).total_seconds() / 86400
    assert 29 < days <= 31

    # A token stored without an expiry (before the cap existed) ends at the maximum.
    legacy = await client.post("/api/v1/me/tokens", json={}, headers=auth)
    async with tenant_tx(info.id):
        await ApiToken.update(
            {ApiToken.expires_at: None, ApiToken.created_at: now - timedelta(days=31)}
        ).where((ApiToken.tenant_id == info.id) & (ApiToken.id == legacy.json()["id"]))
    old = await me(client, headers={"Authorization": f"Bearer {legacy.json()['token']}"})
    assert old.status_code == 401 and old.json()["error"]["code"] == "token_expired"


async def test_tokens_are_listed_and_revoked(client: Any, make_tenant: Any) -> None:
    t, other = await make_tenant(), await make_tenant()
    made = await client.post("/api/v1/me/tokens", json={"name": "脚本"}, headers=t.headers())
    token, token_id = made.json()["token"], made.json()["id"]
    mine = await client.get("/api/v1/me/tokens", headers=t.headers())
    assert mine.status_code == 200
    listed = {r["id"]: r for r in mine.json()}
    assert token_id in listed and listed[token_id]["name"] == "脚本"
    assert all("token" not in r and "token_hash" not in r for r in mine.json())
    auth = {"Authorization": f"Bearer {token}"}
    assert (await me(client, headers=auth)).status_code == 200

    # Not someone else's through /me, and not another tenant's at all.
    admin_tokens = (await client.get("/api/v1/me/tokens", headers=t.headers("admin"))).json()
    admin_id = admin_tokens[0]["id"]
    resp = await client.delete(f"/api/v1/me/tokens/{admin_id}", headers=t.headers())
    assert resp.status_code == 404
    resp = await client.delete(f"/api/v1/tokens/{token_id}", headers=other.headers("admin"))
    assert resp.status_code == 404
    resp = await client.delete(f"/api/v1/tokens/{admin_id}", headers=t.headers())
    assert resp.status_code == 403

    resp = await client.delete(f"/api/v1/me/tokens/{token_id}", headers=t.headers())
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    gone = await me(client, headers=auth)
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "token_revoked"

    # An admin revokes any token of the tenant, e.g. a handler's.
    handler = t.headers("handler")
    everyone = await client.get("/api/v1/tokens", headers=t.headers("admin"))
    assert everyone.status_code == 200
    handler_id = next(r["id"] for r in everyone.json() if r["user_id"] == t.users["handler"]["id"])
    resp = await client.delete(f"/api/v1/tokens/{handler_id}", headers=t.headers("admin"))
    assert resp.status_code == 200
    assert (await me(client, headers=handler)).status_code == 401
    assert (await client.get("/api/v1/tokens", headers=t.headers())).status_code == 403
    assert (await audit_actions(t.id)).count("token.revoked") == 2


async def _feed(client: Any, t: Any) -> str:
    resp = await client.post("/api/v1/rota/feed-token", headers=t.headers("leader"))
    assert resp.status_code == 201, resp.text
    path: str = resp.json()["path"]
    assert (await client.get(path)).status_code == 200
    return path


async def test_deactivated_user_is_locked_out_at_once(
    rt: Any, client: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    leader_id = t.users["leader"]["id"]
    feed = await _feed(client, t)
    async with browser(rt) as leader:
        assert (await login(leader, t.slug, "leader")).status_code == 303
        assert (await me(leader)).status_code == 200

        url = f"/api/v1/users/{leader_id}/deactivate"
        assert (await client.post(url, headers=t.headers("clerk"))).status_code == 403
        resp = await client.post(
            f"/api/v1/users/{leader_id}/deactivate", headers=other.headers("admin")
        )
        assert resp.status_code == 404
        own = t.users["admin"]["id"]
        resp = await client.post(f"/api/v1/users/{own}/deactivate", headers=t.headers("admin"))
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "cannot_deactivate_self"

        resp = await client.post(url, headers=t.headers("admin"))
        assert resp.status_code == 200 and resp.json()["active"] is False
        assert (await me(leader)).status_code == 401
        assert (await me(client, headers=t.headers("leader"))).status_code == 401
        assert (await client.get(feed)).status_code == 404
        assert (await login(leader, t.slug, "leader")).status_code == 401

        resp = await client.post(f"/api/v1/users/{leader_id}/activate", headers=t.headers("admin"))
        assert resp.status_code == 200 and resp.json()["active"] is True
        # Tokens and the feed URL resume; the old session was revoked for good.
        assert (await me(client, headers=t.headers("leader"))).status_code == 200
        assert (await client.get(feed)).status_code == 200
        assert (await me(leader)).status_code == 401
    actions = await audit_actions(t.id)
    assert "user.deactivated" in actions and "user.activated" in actions


async def xinfang(backend: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI against the test database and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_ADMIN_URL"}}
    env.update(
        DATABASE_URL=backend.settings.database.url,
        XINFANG_SECRET_KEY=TEST_SECRET,
        XINFANG_DATA_DIR=str(tmp_path / "cli"),
        REDIS_URL=REDIS_URL,
    )
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


async def test_cli_deactivates_users_and_revokes_tokens(
    backend: Any, rt: Any, client: Any, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    feed = await _feed(client, t)
    async with browser(rt) as leader:
        assert (await login(leader, t.slug, "leader")).status_code == 303
        done = await xinfang(backend, tmp_path, "user", "deactivate", "--tenant", t.slug, "leader")
        assert done.returncode == 0, done.stderr
        assert "已停用" in done.stdout
        assert (await me(leader)).status_code == 401
        assert (await me(client, headers=t.headers("leader"))).status_code == 401
        assert (await client.get(feed)).status_code == 404
        done = await xinfang(backend, tmp_path, "user", "activate", "--tenant", t.slug, "leader")
        assert done.returncode == 0, done.stderr
        assert (await me(client, headers=t.headers("leader"))).status_code == 200
        assert (await me(leader)).status_code == 401  # sessions were revoked, not suspended

    missing = await xinfang(backend, tmp_path, "user", "deactivate", "--tenant", t.slug, "nobody")
    assert missing.returncode != 0 and "不存在" in missing.stderr

    listed = await xinfang(backend, tmp_path, "token", "list", "--tenant", t.slug)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if " clerk " in f" {x} ")
    token_id = line.split()[0]
    assert t.tokens["clerk"] not in listed.stdout
    done = await xinfang(backend, tmp_path, "token", "revoke", "--tenant", t.slug, token_id)
    assert done.returncode == 0, done.stderr
    resp = await me(client, headers=t.headers())
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_revoked"
    unknown = await xinfang(backend, tmp_path, "token", "revoke", "--tenant", t.slug, "999999")
    assert unknown.returncode != 0
