"""Schemathesis over the whole API schema, authenticated, on both engines (issue 10,
proof 2): no operation answers a server error, and every answer is the one the schema
documents (status, media type, body).

The app runs as ``xinfang``'s ASGI entry point under uvicorn on 127.0.0.1, on the test
backend's own database and Redis (a separate process: its event loop owns its pools).
Cases come from schemathesis' Python API (``schemathesis.openapi.from_url``, one
Hypothesis strategy per operation in positive and negative mode), bounded and
derandomized so the run is the same every time. Every operation is checked with
``not_a_server_error`` and schemathesis' response conformance checks (documented status
code, content type and body schema): every answer is typed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.principal import ROLES
from core.services import open311, users
from tests.conftest import PASSWORD, REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 6  # per operation and mode: 70 operations × 2 modes × 6 ≤ 840 requests
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(backend: Any, tmp_path: Path) -> Any:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_ADMIN_URL"},
        "XINFANG_DATA_DIR": str(backend.settings.data_dir),
        "XINFANG_SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": backend.settings.database.url,
        "REDIS_URL": REDIS_URL,
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "uvicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "core.web.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
            time.sleep(0.2)
        yield base, tmp_path / "uvicorn.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _explore(
    strategy: Any,
    base: str,
    http: requests.Session,
    auth: Any,
    seen: list[int],
    checks: list[Any],
) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base, session=http, headers=auth, timeout=30)
        seen.append(response.status_code)
        case.validate_response(response, checks=checks)

    run()


async def test_schemathesis_finds_no_server_error(
    server: Any, make_tenant: Any, rt: Any, record_property: Any
) -> None:
    base, log = server
    t = await make_tenant(plugins=("enterprise_logistics", "court", "police"))
    user = await users.create_user(
        t.scope(rt), username="everyone", display_name="全员", password=PASSWORD, roles=list(ROLES)
    )
    token = (await users.create_token(t.scope(rt), user.id, name="schemathesis")).token
    key = await open311.create_key(t.scope(rt))
    auth = {"Authorization": f"Bearer {token}"}

    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    http = requests.Session()
    operations = examples = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        fixed: dict[str, Any] = {}
        names = {p.name for p in operation.path_parameters}
        if "tenant" in names:  # the tenant that exists, so public routes reach their code
            fixed["path_parameters"] = {"tenant": t.slug}
        if operation.path.startswith("/open311/") and operation.method.upper() == "GET":
            fixed["query"] = {"api_key": key}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            seen: list[int] = []
            strategy = operation.as_strategy(generation_mode=mode, **fixed)
            try:
                _explore(strategy, base, http, auth, seen, CONFORMANCE)
            except Unsatisfiable:
                pass  # negative mode of an operation with nothing to get wrong (no input)
            except (Exception, BaseExceptionGroup) as exc:  # report each, then go on
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:600]}")
            examples += len(seen)
    summary = (
        f"schemathesis: {operations} operations, {examples} examples, {len(failures)} failures"
    )
    print(summary)
    record_property("schemathesis", summary)
    assert operations >= 55 and examples >= operations * 4, summary
    assert not failures, "\n\n".join(failures) + "\n\n" + log.read_text()[-4000:]
