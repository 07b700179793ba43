"""The rota job through a real arq worker (burst) on the real Redis, both engines."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE

pytestmark = pytest.mark.asyncio


async def test_rota_generate_job_runs_in_a_worker_and_is_idempotent(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from arq.worker import Worker

    from core.redis import arq_settings
    from daemon.rota_jobs import rota_generate

    saved = rt.clock
    rt.clock = FixedClock(datetime(2026, 9, 20, 10, tzinfo=TIMEZONE))
    try:
        t = await make_tenant()
        body = {
            "key": "monday",
            "title_zh": "领导信访接待日",
            "weekdays": [0],
            "leaders": [t.users["leader"]["id"]],
            "horizon_weeks": 2,
        }
        r = await client.post("/api/v1/rota/templates", json=body, headers=t.headers("admin"))
        assert r.status_code == 201, r.text
        queue = f"xinfang-test-rota-{secrets.token_hex(4)}"

        async def startup(ctx: dict[str, Any]) -> None:
            ctx["rt"] = rt

        created = []
        for _ in range(2):
            job = await rt.redis.enqueue_job("rota_generate", _queue_name=queue)
            worker = Worker(
                functions=[rota_generate],
                queue_name=queue,
                redis_settings=arq_settings(rt.settings),
                on_startup=startup,
                burst=True,
                handle_signals=False,
                keep_result=60,
            )
            try:
                await worker.main()
            finally:
                await worker.close()
            assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
            created.append((await job.result(timeout=5))["created"])
            slots = (await client.get("/api/v1/rota/slots", headers=t.headers("clerk"))).json()
            assert len(slots) == 4
        assert created[0] >= 4 and created[1] == 0  # every tenant, then nothing new
    finally:
        rt.clock = saved
