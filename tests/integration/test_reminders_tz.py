""" "Today" is the Shanghai date whatever the host time zone: `xinfang tick` in a process
with TZ=UTC at 07:30 Shanghai (23:30 UTC the day before)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.notify.tables import TickState
from tests.conftest import TEST_SECRET
from tests.integration.test_reminders import add_deadline, at, make_case, quiet, reminders

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]


def worker_env(backend: Any, tmp: Path, now_file: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XINFANG_", "DATABASE_", "REDIS"))
    }
    env.update(
        TZ="UTC",
        XINFANG_DATA_DIR=str(tmp),
        XINFANG_SECRET_KEY=TEST_SECRET,
        DATABASE_URL=backend.settings.database.url,
        XINFANG_FAKE_NOW_FILE=str(now_file),
        XINFANG_LOG_LEVEL="WARNING",
        XINFANG_DB_POOL_SIZE="3",
        **extra,
    )
    return env


async def test_cli_tick_in_a_utc_process_uses_the_shanghai_date(
    backend: Any, rt: Any, make_tenant: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    await quiet(t)
    case_id, _ = await make_case(t.id)
    await add_deadline(t.id, case_id, "2026-09-16", user=t.users["handler"]["id"])
    now_file = tmp_path / "now"
    now_file.write_text(at("2026-09-16", 7, 30).isoformat())
    env = worker_env(backend, tmp_path, now_file, REDIS_URL="redis://127.0.0.1:1/0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        "tick",
        "--tenant",
        t.slug,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert "reminders=2" in stdout.decode()
    kinds = {r["kind"] for r in await reminders(t.id)}
    assert kinds == {"handle:approaching", "handle:due_today"}  # 09-16, not UTC's 09-15
    async with tenant_tx(t.id, write=False):
        state = await TickState.select().where(TickState.tenant_id == t.id).first()
    assert state is not None and state["full_day"] == date(2026, 9, 16)
