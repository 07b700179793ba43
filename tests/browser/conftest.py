"""Browser tests: Debian's Chromium driven by Playwright (``executable_path``; no browser
download), against the real app served by uvicorn on this test's event loop (asyncpg's
pool is bound to it) on a free 127.0.0.1 port.

They run on the embedded default (SQLite): the pages call the same services as the API,
whose tests cover both engines. ``XINFANG_SCREENSHOTS=<dir>`` keeps the screenshots
(``make screenshots`` writes docs/screenshots/)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("XINFANG_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
STAFF_VIEWPORT = {"width": 1366, "height": 768}
PHONE_VIEWPORT = {"width": 390, "height": 844}
_AXE_SOURCE = AXE.read_text(encoding="utf-8")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    keep, drop = [], []
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
        (drop if str(item.fspath).startswith(here) and engine == "postgres" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(rt: Any) -> AsyncIterator[str]:
    import uvicorn

    from core.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(rt, manage_resources=False), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once per session
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs chromium and fonts-noto-cjk")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield b
        await b.close()


async def new_page(browser: Any, base: str, viewport: dict[str, int] = STAFF_VIEWPORT) -> Any:
    context = await browser.new_context(
        base_url=base, viewport=viewport, locale="zh-CN", timezone_id="Europe/London"
    )
    return await context.new_page()


@pytest.fixture
async def page(browser: Any, server: str) -> AsyncIterator[Any]:
    p = await new_page(browser, server)
    yield p
    await p.context.close()


async def login(page: Any, tenant: str, username: str, password: str) -> None:
    """Log in the way a person does: the keyboard only, from the login page."""
    await page.goto("/login")
    await page.get_by_label("机构标识").fill(tenant)
    await page.keyboard.press("Tab")
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    # Wait for the answer to the POST: a goto right after Enter would cancel it.
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_load_state("networkidle")


async def axe_violations(
    page: Any, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[Any]:
    """axe-core (vendored) on the page; evaluated over DevTools, so the page's CSP,
    which forbids inline script, stays as it is."""
    await page.evaluate(_AXE_SOURCE)
    result = await page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"])}
        for v in violations
        if v["impact"] in impacts
    ]


async def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Save a full-page screenshot (kept under $XINFANG_SCREENSHOTS when set)."""
    keep = os.environ.get("XINFANG_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    # From the top, so sticky parts stand where a person first sees them.
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(path), full_page=True)
    return path
