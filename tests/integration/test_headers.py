"""Security headers on every kind of response, no-store on authenticated ones, and an API
schema that loads nothing from outside (docs/security.md "Headers")."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx
import pytest

from tests.conftest import client_address
from tests.integration.test_sessions_tokens import browser, login

pytestmark = pytest.mark.asyncio

EVERYWHERE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def csp_of(resp: httpx.Response) -> dict[str, str]:
    policy = resp.headers.get("content-security-policy", "")
    return {
        d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
        for d in (x.strip() for x in policy.split(";"))
        if d
    }


def assert_secured(resp: httpx.Response) -> None:
    for name, value in EVERYWHERE.items():
        assert resp.headers.get(name) == value, (resp.url, name, resp.headers)
    csp = csp_of(resp)
    assert csp.get("default-src") == "'self'", resp.headers
    assert csp.get("script-src") == "'self'" and csp.get("style-src") == "'self'"
    assert csp.get("frame-ancestors") == "'none'" and csp.get("object-src") == "'none'"
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    # The deployment in the fixture is http://…: HSTS would be wrong there.
    assert "strict-transport-security" not in resp.headers


def no_store(resp: httpx.Response) -> bool:
    return "no-store" in resp.headers.get("cache-control", "")


async def test_headers_on_pages_api_public_and_static(
    rt: Any, client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    async with browser(rt) as staff:
        assert (await login(staff, t.slug, "clerk")).status_code == 303
        for path in ("/", "/inbox", "/rota", "/api/v1/me"):
            page = await staff.get(path)
            assert page.status_code == 200, (path, page.text)
            assert_secured(page)
            assert no_store(page), path

    api = await client.get("/api/v1/cases", headers=t.headers())
    assert api.status_code == 200
    assert_secured(api)
    assert no_store(api)
    refused = await client.get("/api/v1/cases")
    assert refused.status_code == 401
    assert_secured(refused)

    login_page = await client.get("/login")  # carries a CSRF token: not for caches either
    assert_secured(login_page)
    assert no_store(login_page)
    public = await client.get(f"/t/{t.slug}/schedule.ics")
    assert public.status_code == 200
    assert_secured(public)
    assert public.headers["cache-control"] == "max-age=300"  # public, meant to be cached
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert_secured(missing)

    css = await client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert_secured(css)
    icon = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert_secured(icon)


async def test_hsts_when_the_base_url_is_https(rt: Any, make_tenant: Any) -> None:
    from core.web.app import create_app

    https = dataclasses.replace(
        rt, settings=dataclasses.replace(rt.settings, base_url="https://xf.example.cn")
    )
    transport = httpx.ASGITransport(
        app=create_app(https, manage_resources=False), client=(client_address(), 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://xf.example.cn") as c:
        for path in ("/login", "/static/app.css", "/healthz"):
            resp = await c.get(path)
            assert resp.headers["strict-transport-security"].startswith("max-age="), path
            assert (
                int(resp.headers["strict-transport-security"].split("=")[1].split(";")[0])
                >= 31536000
            )


async def test_our_pages_need_nothing_the_policy_forbids(
    rt: Any, client: Any, make_tenant: Any
) -> None:
    """script-src/style-src 'self' without 'unsafe-inline': no inline script, style
    element or style attribute, and every script and stylesheet from /static."""
    from tests.integration.test_platform_api import case_body

    t = await make_tenant()
    made = await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    assert made.status_code == 201, made.text
    async with browser(rt) as staff:
        pages = [await staff.get("/login")]
        assert (await login(staff, t.slug, "clerk")).status_code == 303
        for path in ("/", f"/cases/{made.json()['id']}", "/inbox", "/rota", "/no-such-page"):
            pages.append(await staff.get(path, headers={"accept": "text/html"}))
    for page in pages:
        html = page.text
        assert "<html" in html, page.url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), page.url
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.I), page.url
        urls = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', html, re.I)
        for url in urls:
            assert url.startswith("/static/"), (page.url, url)
        # Every page: the htmx CSRF header (app.js) and an icon (no /favicon.ico 404).
        assert {"/static/app.js", "/static/favicon.svg"} <= set(urls), page.url


@pytest.mark.parametrize(
    "path",
    [
        "/schema",
        "/schema/",
        "/schema/openapi.json",
        "/schema/swagger",
        "/schema/redoc",
        "/schema/elements",
        "/schema/rapidoc",
        "/schema/scalar",
        "/schema/openapi.yaml",
    ],
)
async def test_schema_pulls_nothing_from_outside(client: Any, path: str) -> None:
    resp = await client.get(path)
    assert resp.status_code in (200, 404), resp.status_code
    assert_secured(resp)
    body = resp.text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", body, re.I), path
    assert not re.search(r"""@import|url\(\s*["']?(?:https?:)?//""", body, re.I), path
    if path == "/schema/openapi.json":
        assert resp.status_code == 200
        assert resp.json()["info"]["title"].startswith("信访接待平台")
