"""Overload (docs/security.md, "Overload"): beyond what a web process takes on, the
answer is 503 with ``Retry-After`` — never another 5xx — and memory stays bounded.

``xinfang serve`` runs with 4 requests in flight and 2 database connections (so the
pool is exhausted too) and gets 200 requests at once from 127.0.0.1: registrations,
case lists and readiness probes. Memory, not time, is what is measured.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.procs import Serve, case_body, process_env

pytestmark = pytest.mark.asyncio
BURST = 200
MIB = 1024  # VmRSS is in KiB


async def test_beyond_capacity_the_answer_is_503_with_retry_after_and_memory_stays_bounded(
    backend: Any, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    env = process_env(backend, tmp_path, XINFANG_MAX_INFLIGHT="4", XINFANG_DB_POOL_SIZE="2")
    server = Serve(env, tmp_path / "serve.log")
    await server.start()
    marker = f"burst-{secrets.token_hex(3)}"
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=120, limits=limits) as http:

            async def call(i: int) -> httpx.Response:
                if i % 20 == 0:
                    return await http.get("/readyz")
                if i % 2:
                    return await http.get("/api/v1/cases", headers=t.headers())
                body = case_body(i, marker)
                return await http.post("/api/v1/cases", json=body, headers=t.headers())

            # Warm up (imports, templates, pool), then the baseline.
            for i in range(6):
                assert (await call(i + 1)).status_code in (200, 201)
            before = server.rss_kib()
            answers = await asyncio.gather(*(call(i) for i in range(BURST)))
            after = server.rss_kib()
            # Still serving afterwards.
            again = await http.post(
                "/api/v1/cases", json=case_body(BURST, marker), headers=t.headers()
            )
            assert again.status_code == 201, again.text
    finally:
        server.stop()

    codes = Counter(r.status_code for r in answers)
    assert set(codes) <= {200, 201, 503}, (codes, server.log())
    refused = [r for r in answers if r.status_code == 503]
    for r in refused:
        assert r.headers.get("retry-after") in ("1", "5"), r.headers
        assert r.json()["error"]["code"] in ("overloaded", "database_unavailable"), r.text
        assert r.json()["error"]["message"]
    assert any(r.json()["error"]["code"] == "overloaded" for r in refused), codes
    assert codes[201] and codes[200]
    # The probes are exempt from the limit: they answer 200 in the middle of the burst.
    probes = [a for i, a in enumerate(answers) if i % 20 == 0]
    assert all(p.status_code == 200 for p in probes), [p.text for p in probes]
    assert after - before < 50 * MIB, f"RSS grew {(after - before) / MIB:.1f} MiB"
    print(f"overload[{backend.name}]: {dict(codes)} rss {before / MIB:.0f}→{after / MIB:.0f} MiB")
