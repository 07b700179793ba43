"""The concurrency limit's bounds, exactly: N requests run, N more wait, the rest are
refused at once with 503 + Retry-After; probes and non-HTTP scopes pass; a slot comes
back when a request ends, also when it fails; a queued request gives up after its wait."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from core.settings import load_settings
from core.web.limits import ConcurrencyLimit, Limiter


class Gate:
    """An ASGI app whose requests hold until released (``/boom`` raises)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.running = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.running += 1
        try:
            if scope["path"] == "/boom":
                raise RuntimeError("boom")
            if scope["path"] not in ("/healthz", "/readyz"):
                await self.open.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.running -= 1


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_n_run_n_wait_the_rest_are_refused_at_once() -> None:
    gate = Gate()
    limiter = Limiter(2)  # queue defaults to the same size
    app = ConcurrencyLimit(gate, limiter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        held = [asyncio.create_task(http.get(f"/r{i}")) for i in range(4)]
        await settle()
        assert (gate.running, limiter.waiting) == (2, 2)
        refused = await http.post("/r5", content=b"x" * 1000)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "error": {"code": "overloaded", "message": "系统繁忙，请稍后重试。"}
        }
        # The probes are never refused, however busy.
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        gate.open.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 4
        assert (gate.running, limiter.waiting) == (0, 0)


async def test_a_failing_request_gives_its_slot_back() -> None:
    gate = Gate()
    gate.open.set()
    app = ConcurrencyLimit(gate, Limiter(1, queue=0))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for _ in range(3):
            assert (await http.get("/boom")).status_code == 500
        assert (await http.get("/ok")).status_code == 200


async def test_a_queued_request_gives_up_after_its_wait() -> None:
    gate = Gate()
    limiter = Limiter(1, queue=1, wait=0.05)
    app = ConcurrencyLimit(gate, limiter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        held = asyncio.create_task(http.get("/slow"))
        await settle()
        late = await http.get("/queued")
        assert late.status_code == 503
        assert json.loads(late.content)["error"]["code"] == "overloaded"
        assert limiter.waiting == 0
        gate.open.set()
        assert (await held).status_code == 200


def test_setting_default_and_refusal() -> None:
    base = {"XINFANG_SECRET_KEY": "k" * 40, "XINFANG_DATA_DIR": "/tmp/xinfang-limits"}
    assert load_settings(base).max_inflight == 64
    assert load_settings({**base, "XINFANG_MAX_INFLIGHT": "8"}).max_inflight == 8
    for bad in ("0", "-3", "many"):
        with pytest.raises(SystemExit, match="XINFANG_MAX_INFLIGHT"):
            load_settings({**base, "XINFANG_MAX_INFLIGHT": bad})
