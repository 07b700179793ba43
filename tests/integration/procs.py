"""Real processes for the fault and overload proofs: ``xinfang serve`` / ``xinfang worker``
started the way an operator starts them (the CLI, settings from the environment), a
supervisor that restarts what dies (what systemd's ``Restart=on-failure`` does), and
integrity checks run as the database owner (no row-level security in the way)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.conftest import REDIS_URL, TEST_SECRET
from tests.integration.test_outbox import free_port

ROOT = Path(__file__).resolve().parents[2]
XINFANG = str(Path(sys.executable).parent / "xinfang")


def process_env(backend: Any, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a deployed process on the test backend's database."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XINFANG_", "DATABASE_", "REDIS"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "XINFANG_DATA_DIR": str(tmp),
            "XINFANG_SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": backend.settings.database.url,
            "REDIS_URL": REDIS_URL,
            "XINFANG_LOG_LEVEL": "WARNING",
            "XINFANG_WEB_CONCURRENCY": "1",  # one process: the Popen pid is the server
            **extra,
        }
    )
    return env


class Serve:
    """``xinfang serve`` on a free 127.0.0.1 port; SIGKILL and restart on the same port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.spawn()
        await self.wait_ready(200, 60)

    def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [XINFANG, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def readyz(self) -> httpx.Response | None:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return await http.get(f"{self.base}/readyz")
        except httpx.HTTPError:
            return None

    async def wait_ready(self, status: int, within: float) -> httpx.Response:
        """Poll /readyz until it answers ``status``; nobody touches the server meanwhile."""
        deadline = time.monotonic() + within
        last: httpx.Response | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            last = await self.readyz()
            if last is not None and last.status_code == status:
                return last
            await asyncio.sleep(0.2)
        got = None if last is None else (last.status_code, last.text)
        raise AssertionError(f"/readyz not {status} in {within}s (last {got})\n{self.log()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class Supervised:
    """``xinfang worker`` restarted whenever it exits, like the systemd unit does."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []

    def ensure(self) -> None:
        if self.proc is not None:
            code = self.proc.poll()
            if code is None:
                return
            self.exits.append(code)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [XINFANG, "worker"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def case_body(i: int, marker: str, **extra: Any) -> dict[str, Any]:
    """A registration for a person of its own (no repeat visits), ``marker`` in the cause."""
    from tests.conftest import valid_id_number

    return {
        **extra,
        "channel": "visit",
        "visitor": {
            "name": f"来访人{i}",
            "id_number": valid_id_number(birth=f"19{60 + i // 900 % 40:02d}0101", seq=i % 900),
            "phone": f"138{i:08d}",
        },
        "cause": f"{marker} 第{i}件：小区供暖温度不达标，楼号{i}",
        "demand": "尽快维修",
        "locality": f"测试区{i}",
    }


@dataclass
class Registrations:
    """Concurrent POST /api/v1/cases streams; every answer (or broken exchange) kept."""

    base: str
    headers: dict[str, str]
    marker: str
    answers: dict[int, httpx.Response] = field(default_factory=dict)
    broken: dict[int, str] = field(default_factory=dict)
    """Requests whose exchange broke after it was sent (outcome unknown)."""
    refused: set[int] = field(default_factory=set)
    """Never reached a server (connection refused)."""
    next_i: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def codes(self) -> Counter[int]:
        return Counter(r.status_code for r in self.answers.values())

    async def _stream(self, http: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            i = self.next_i
            self.next_i += 1
            try:
                r = await http.post(
                    f"{self.base}/api/v1/cases",
                    json=case_body(i, self.marker),
                    headers=self.headers,
                )
                self.answers[i] = r
            except httpx.ConnectError:
                self.refused.add(i)
                await asyncio.sleep(0.05)
            except httpx.TransportError as exc:
                self.broken[i] = type(exc).__name__

    async def run(self, streams: int) -> None:
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await asyncio.gather(*(self._stream(http) for _ in range(streams)))

    async def until(self, status: int, count: int, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while self.codes()[status] < count:
            assert time.monotonic() < deadline, f"only {self.codes()} after {within}s"
            await asyncio.sleep(0.02)

    def index_of(self, cause: str) -> int:
        return int(cause.split("第", 1)[1].split("件", 1)[0])


# --- integrity, as the owner -------------------------------------------------------------

TABLES = {
    "cases": "SELECT id, receipt_code, status, visitor_id, cause FROM petition_case",
    "events": "SELECT id, case_id, kind FROM case_event",
    "deadlines": "SELECT id, case_id, clock FROM case_deadline",
    "outbox": "SELECT id, kind, dedupe_key FROM outbox",
    "visitors": "SELECT id FROM visitor",
    "audit": "SELECT seq, action, target, detail FROM audit_log",
}


async def owner_rows(backend: Any, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant in the tables a registration writes, read as the owner."""
    out: dict[str, list[dict[str, Any]]] = {}
    if backend.name == "postgres":
        conn = await asyncpg.connect(backend.admin_url)
        try:
            for name, sql in TABLES.items():
                rows = await conn.fetch(f"{sql} WHERE tenant_id = $1", tenant_id)
                out[name] = [dict(r) for r in rows]
        finally:
            await conn.close()
    else:
        db = sqlite3.connect(backend.settings.database.sqlite_path)
        db.row_factory = sqlite3.Row
        try:
            for name, sql in TABLES.items():
                rows = db.execute(f"{sql} WHERE tenant_id = ?", (tenant_id,)).fetchall()
                out[name] = [dict(r) for r in rows]
        finally:
            db.close()
    return out


def partial_records(rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Everything a half-written registration would leave behind; empty when none."""
    problems: list[str] = []
    cases = {c["id"]: c for c in rows["cases"]}
    kinds: dict[int, Counter[str]] = {c: Counter() for c in cases}
    for e in rows["events"]:
        if e["case_id"] not in cases:
            problems.append(f"event {e['id']} without its case {e['case_id']}")
        else:
            kinds[e["case_id"]][e["kind"]] += 1
    clocks: dict[int, list[str]] = {c: [] for c in cases}
    for d in rows["deadlines"]:
        if d["case_id"] not in cases:
            problems.append(f"deadline {d['id']} without its case {d['case_id']}")
        else:
            clocks[d["case_id"]].append(d["clock"])
    queued = Counter(o["dedupe_key"] for o in rows["outbox"] if o["kind"] == "case.registered")
    for key in queued:
        if int(key.split(":")[1]) not in cases:
            problems.append(f"outbox {key} without its case")
    audited: Counter[int] = Counter()
    events = {e["id"] for e in rows["events"]}
    for a in rows["audit"]:
        if a["target"].startswith("case:"):
            event_id = json.loads(a["detail"]).get("event_id")
            if event_id not in events:
                problems.append(f"audit row {a['seq']} for a missing event {event_id}")
            audited[event_id] += 1
    for e in rows["events"]:
        if audited[e["id"]] != 1:
            problems.append(f"event {e['id']} audited {audited[e['id']]} times")
    for cid, c in cases.items():
        if kinds[cid]["registered"] != 1:
            problems.append(f"case {cid}: {kinds[cid]['registered']} registered events")
        if c["status"] == "registered" and sorted(clocks[cid]) != ["accept", "notify"]:
            problems.append(f"case {cid}: clocks {sorted(clocks[cid])}")
        if queued[f"case.registered:{cid}"] != 1:
            problems.append(f"case {cid}: {queued[f'case.registered:{cid}']} outbox rows")
    with_case = {c["visitor_id"] for c in rows["cases"]}
    problems += [f"visitor {v['id']} without a case" for v in rows["visitors"]
                 if v["id"] not in with_case]  # fmt: skip
    seqs = sorted(a["seq"] for a in rows["audit"])
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append(f"audit chain seqs not gap-free: {seqs[:5]}…{seqs[-5:]}")
    return problems
