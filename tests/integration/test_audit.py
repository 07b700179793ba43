"""The audit log, from where people start: writes, logins and reveals through the API
land in the tenant's hash chain without personal data; `xinfang audit verify` finds a
row edited, deleted, inserted or reordered by the database owner, and the exported
heads catch a consistent rewrite. Both engines; the owner connection tampers."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import re
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core.clock import FixedClock
from core.db.engine import tenant_tx
from core.db.tables import AuditHead, AuditLog
from core.settings import TIMEZONE
from tests.conftest import PASSWORD, REDIS_URL, TEST_SECRET, valid_id_number
from tests.integration.test_plugin_platform import case_body

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]


# --- helpers ---------------------------------------------------------------------------


async def xinfang(backend: Any, tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the real CLI against the backend's database (the app role on PostgreSQL)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATABASE_ADMIN_URL", "XINFANG_AUDIT_HEADS_FILE"}
    }
    env.update(
        DATABASE_URL=backend.settings.database.url,
        XINFANG_SECRET_KEY=TEST_SECRET,
        XINFANG_DATA_DIR=str(tmp_path / "cli"),
        REDIS_URL=REDIS_URL,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def chain(tenant_id: int) -> list[dict[str, Any]]:
    async with tenant_tx(tenant_id, write=False):
        return await AuditLog.select().where(AuditLog.tenant_id == tenant_id).order_by(AuditLog.seq)


async def as_owner(backend: Any, *statements: str) -> None:
    """What a database owner can do: switch the append-only triggers off, change rows,
    switch them on again — in one transaction, so nobody else sees the gap."""
    if backend.name == "postgres":
        conn = await asyncpg.connect(backend.admin_url)
        try:
            async with conn.transaction():
                await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
                for sql in statements:
                    await conn.execute(sql)
                await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        finally:
            await conn.close()
        return

    def run() -> None:
        db = sqlite3.connect(backend.settings.database.sqlite_path, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            triggers = db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            ).fetchall()
            for name, _ in triggers:
                db.execute(f"DROP TRIGGER {name}")
            for sql in statements:
                db.execute(sql)
            for _, sql in triggers:
                db.execute(sql)
            db.execute("COMMIT")
        finally:
            db.close()

    await asyncio.to_thread(run)


def _q(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def rewrite_statements(rows: list[dict[str, Any]], mac: Any) -> list[str]:
    """Recompute every link from the first row on with ``mac(prev, row)`` and move the
    head: a consistent rewrite of the history."""
    from core.services.audit import GENESIS

    prev, out = GENESIS, []
    for row in rows:
        digest = mac(prev, row)
        out.append(
            f"UPDATE audit_log SET prev_hash = {_q(prev)}, hash = {_q(digest)} "
            f"WHERE id = {row['id']}"
        )
        prev = digest
    tid, last = rows[0]["tenant_id"], rows[-1]["seq"]
    out.append(f"UPDATE audit_head SET hash = {_q(prev)}, seq = {last} WHERE tenant_id = {tid}")
    return out


async def login(client: Any, tenant: str, username: str, password: str) -> int:
    page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    r = await client.post(
        "/login",
        data={
            "tenant": tenant,
            "username": username,
            "password": password,
            "next": "/",
            "_csrf_token": token.group(1),
        },
    )
    return int(r.status_code)


async def populated(make_tenant: Any, client: Any) -> Any:
    """A tenant with some history: its set-up (≈ 13 rows) and a registered case."""
    t = await make_tenant()
    r = await client.post("/api/v1/cases", json=case_body("general"), headers=t.headers())
    assert r.status_code == 201, r.text
    return t


# --- what is recorded -------------------------------------------------------------------


async def test_writes_logins_and_reveals_are_chained_without_personal_data(
    client: Any, make_tenant: Any, backend: Any, tmp_path: Path
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    id_number, phone = valid_id_number(seq=417), "13912345678"
    form = {
        "estate": "幸福小区",
        "building": "3号楼",
        "unit": "2",
        "room": "1702",
        "account_number": "HX-77123-05",
        "indoor_temp": 19,
    }
    body = case_body(
        "heating",
        form,
        visitor={"name": "王审计", "id_number": id_number, "phone": phone, "address": "解放路9号"},
    )
    r = await client.post("/api/v1/cases", json=body, headers=t.headers())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["form"]["account_number"] == "HX-77123-05"  # shown in clear: a reveal
    r = await client.post(
        f"/api/v1/cases/{case['id']}/actions/accept", json={}, headers=t.headers()
    )
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/me/tokens", json={"name": "笔记本"}, headers=t.headers())
    assert r.status_code == 201, r.text
    new_token = r.json()["token"]
    r = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"config": {"temp_standard": 20}},
        headers=t.headers("admin"),
    )
    assert r.status_code == 200, r.text
    before_unknown = [r for r in await chain(0) if r["action"] == "login.failure"]
    assert await login(client, t.slug, "clerk", "wrong-password-1") == 401
    assert await login(client, t.slug, "nobody", "pass-in-name-field") == 401
    assert await login(client, "no-such-org", "clerk", PASSWORD) == 401
    assert await login(client, t.slug, "clerk", PASSWORD) == 303

    rows = await chain(t.id)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    actions = [r["action"] for r in rows]
    for expected in (
        "tenant.created",
        "plugin.enabled",
        "department.created",
        "user.created",
        "token.created",
        "visitor.registered",
        "case.registered",
        "reveal.case_form",
        "case.action.accept",
        "plugin.settings_changed",
        "login.failure",
        "login.success",
    ):
        assert expected in actions, (expected, actions)
    clerk = t.users["clerk"]["id"]
    by = {r["action"]: r for r in rows}
    assert (by["case.registered"]["actor"], by["case.registered"]["actor_id"]) == ("clerk", clerk)
    assert by["case.registered"]["target"] == f"case:{case['id']}"
    assert (by["case.action.accept"]["actor"], by["case.action.accept"]["target"]) == (
        "clerk",
        f"case:{case['id']}",
    )
    assert json.loads(by["reveal.case_form"]["detail"]) == {"fields": ["account_number", "room"]}
    assert json.loads(by["plugin.settings_changed"]["detail"]) == {"keys": ["temp_standard"]}
    assert by["plugin.settings_changed"]["actor"] == "admin"
    assert by["login.success"]["actor_id"] == clerk
    failures = [json.loads(r["detail"]) for r in rows if r["action"] == "login.failure"]
    assert failures == [{"reason": "wrong_password"}, {"reason": "unknown_user"}]
    unknown = [r for r in await chain(0) if r["action"] == "login.failure"]
    assert len(unknown) == len(before_unknown) + 1
    assert json.loads(unknown[-1]["detail"]) == {"reason": "unknown_tenant"}

    text = json.dumps(rows, default=str, ensure_ascii=False) + json.dumps(
        unknown, default=str, ensure_ascii=False
    )
    for secret in (
        id_number,
        phone,
        "王审计",
        "解放路",
        "HX-77123-05",
        "1702",
        PASSWORD,
        "wrong-password-1",
        "pass-in-name-field",
        "nobody",
        new_token,
        new_token.split(".")[-1][:8],
    ):
        assert secret not in text, secret

    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 0, out
    assert "完好" in out and "审计日志校验通过" in out
    code, out = await xinfang(
        backend, tmp_path, "audit", "show", "--tenant", t.slug, "--limit", "5"
    )
    assert code == 0, out
    assert "login.success" in out and "clerk" in out
    shown = rows[-1]["at"].astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    assert shown in out  # Shanghai wall time


async def test_cli_writes_are_audited_as_cli(
    client: Any, make_tenant: Any, backend: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    code, out = await xinfang(
        backend,
        tmp_path,
        "plugin",
        "config",
        "--tenant",
        t.slug,
        "court",
        '{"departments": {"filing": "petition"}}',
    )
    assert code == 0, out
    code, out = await xinfang(
        backend, tmp_path, "token", "create", "--tenant", t.slug, "--username", "leader"
    )
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    rows = await chain(t.id)
    tail = [(r["action"], r["actor"], r["target"]) for r in rows[-2:]]
    assert tail == [
        ("plugin.settings_changed", "cli", "plugin:court"),
        ("token.created", "cli", f"token:{rows[-1]['target'].split(':')[1]}"),
    ]
    assert json.loads(rows[-2]["detail"]) == {"keys": ["departments"]}
    assert token not in json.dumps(rows, default=str)
    # A command that needs Redis too (deactivation ends sessions) is the CLI's as well.
    code, out = await xinfang(backend, tmp_path, "user", "deactivate", "--tenant", t.slug, "leader")
    assert code == 0, out
    last = (await chain(t.id))[-1]
    assert (last["action"], last["actor"]) == ("user.deactivated", "cli")


async def test_the_app_cannot_change_or_delete_audit_rows(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    with pytest.raises(Exception, match=r"append-only|permission denied"):
        async with tenant_tx(t.id):
            await AuditLog.update({AuditLog.detail: "{}"}).where(AuditLog.tenant_id == t.id)
    with pytest.raises(Exception, match=r"append-only|permission denied"):
        async with tenant_tx(t.id):
            await AuditLog.delete().where(AuditLog.tenant_id == t.id)
    assert len(await chain(t.id)) == 13


# --- tampering ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["edited", "deleted", "inserted", "reordered"])
async def test_verify_finds_each_kind_of_tampering(
    how: str, client: Any, make_tenant: Any, backend: Any, tmp_path: Path
) -> None:
    t = await populated(make_tenant, client)
    rows = await chain(t.id)
    assert len(rows) > 8
    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 0, out

    victim = rows[5]
    if how == "edited":
        detail = json.dumps({"username": "someone-else"})
        sql = [f"UPDATE audit_log SET detail = {_q(detail)} WHERE id = {victim['id']}"]
        where = victim["seq"]
    elif how == "deleted":
        sql = [f"DELETE FROM audit_log WHERE id = {victim['id']}"]
        where = victim["seq"] + 1
    elif how == "inserted":
        last = rows[-1]
        forged = {**last, "action": "user.created", "detail": '{"username":"ghost"}'}
        digest = hashlib.sha256(json.dumps(forged, default=str).encode()).hexdigest()
        sql = [
            "INSERT INTO audit_log (tenant_id, seq, at, actor_id, actor, action, target,"
            " detail, prev_hash, hash) VALUES ("
            + ", ".join(
                _q(v)
                for v in (
                    t.id,
                    last["seq"] + 1,
                    last["at"] + timedelta(seconds=1),
                    None,
                    "admin",
                    "user.created",
                    "user:999",
                    forged["detail"],
                    last["hash"],
                    digest,
                )
            )
            + ")"
        ]
        where = last["seq"] + 1
    else:
        a, b = rows[5], rows[6]
        sql = [
            f"UPDATE audit_log SET seq = -1 WHERE id = {a['id']}",
            f"UPDATE audit_log SET seq = {a['seq']} WHERE id = {b['id']}",
            f"UPDATE audit_log SET seq = {b['seq']} WHERE id = {a['id']}",
        ]
        where = a["seq"]
    await as_owner(backend, *sql)

    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 1, out
    kinds = set(re.findall(r"\[(\w+)\]", out))
    assert kinds == {how}, out
    assert f"第 {where} 条" in out, out
    assert "审计日志校验未通过" in out

    from core.services import audit

    (report,) = await audit.verify(backend.rt, t.id)
    assert {b.kind for b in report.breaks} == {how}
    assert where in {b.seq for b in report.breaks}


async def test_a_consistent_rewrite_is_caught_by_the_exported_heads(
    client: Any, make_tenant: Any, backend: Any, tmp_path: Path
) -> None:
    from core.services import audit

    t = await populated(make_tenant, client)
    heads = tmp_path / "heads.jsonl"
    code, out = await xinfang(backend, tmp_path, "audit", "export-head", "--out", str(heads))
    assert code == 0, out
    exported = [h for h in audit.read_heads_file(heads) if h["tenant_id"] == t.id]
    assert len(exported) == 1 and exported[0]["seq"] == len(await chain(t.id))

    # Without the application secret: plain SHA-256 links are not the keyed MAC.
    rows = await chain(t.id)
    doctored = [{**r, "detail": '{"username":"x"}'} if r["seq"] == 3 else r for r in rows[2:]]

    def sha(prev: str, row: dict[str, Any]) -> str:
        return hashlib.sha256(audit._message(prev, row)).hexdigest()

    await as_owner(
        backend,
        f"DELETE FROM audit_log WHERE tenant_id = {t.id} AND seq < 3",
        f'UPDATE audit_log SET detail = \'{{"username":"x"}}\' WHERE id = {rows[2]["id"]}',
        *rewrite_statements(doctored, sha),
    )
    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 1 and "[edited]" in out, out

    # With the secret (an insider): every link is valid again, only the heads file knows.
    def keyed(prev: str, row: dict[str, Any]) -> str:
        return str(backend.rt.keys.audit_mac(audit._message(prev, row)))

    await as_owner(backend, *rewrite_statements(doctored, keyed))
    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 0, out
    code, out = await xinfang(
        backend, tmp_path, "audit", "verify", "--tenant", t.slug, "--heads", str(heads)
    )
    assert code == 1, out
    assert "[rewritten]" in out and f"第 {exported[0]['seq']} 条" in out


# --- concurrency and the daily export ---------------------------------------------------------


async def test_concurrent_writes_make_a_gap_free_chain(
    client: Any, make_tenant: Any, backend: Any, tmp_path: Path
) -> None:
    t = await make_tenant()
    start = len(await chain(t.id))

    async def register(i: int) -> int:
        body = case_body("general", cause=f"并发登记 {i}", visitor={"name": f"并发{i}"})
        r = await client.post("/api/v1/cases", json=body, headers=t.headers())
        return int(r.status_code)

    n = 12
    assert await asyncio.gather(*(register(i) for i in range(n))) == [201] * n
    rows = await chain(t.id)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r["action"] == "case.registered" for r in rows[start:]) == n
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    async with tenant_tx(t.id, write=False):
        head = await AuditHead.select().where(AuditHead.tenant_id == t.id).first()
    assert head is not None and (head["seq"], head["hash"]) == (rows[-1]["seq"], rows[-1]["hash"])
    code, out = await xinfang(backend, tmp_path, "audit", "verify", "--tenant", t.slug)
    assert code == 0, out


async def test_daily_job_exports_heads_once_a_day(
    client: Any, make_tenant: Any, backend: Any, rt: Any, tmp_path: Path, caplog: Any
) -> None:
    import secrets

    from arq.worker import Worker

    from core.redis import arq_settings
    from core.services import audit
    from daemon.audit_jobs import audit_export_heads

    t = await populated(make_tenant, client)
    path = rt.settings.audit_heads_path
    assert path.parent == rt.settings.data_dir / "audit"
    saved = rt.clock
    day = datetime(2026, 12, 1, 0, 10, tzinfo=TIMEZONE)
    queue = f"xinfang-test-audit-{secrets.token_hex(4)}"

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["rt"] = rt

    async def run_job() -> int:
        job = await rt.redis.enqueue_job("audit_export_heads", _queue_name=queue)
        worker = Worker(
            functions=[audit_export_heads],
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
        return int(await job.result(timeout=5))

    try:
        rt.clock = FixedClock(day)
        caplog.set_level("INFO", logger="xinfang.audit")
        first = await run_job()
        assert first >= 2  # the deployment's chain and at least this tenant's
        mine = [h for h in audit.read_heads_file(path) if h["tenant_id"] == t.id]
        assert len(mine) == 1 and mine[0]["at"].startswith("2026-12-01T00:10")
        assert any(f'"tenant_id":{t.id}' in m for m in caplog.messages)
        rt.clock = FixedClock(day + timedelta(hours=5))
        assert await run_job() == 0  # same day: nothing new
        rt.clock = FixedClock(day + timedelta(days=1))
        assert await run_job() == first
        mine = [h for h in audit.read_heads_file(path) if h["tenant_id"] == t.id]
        assert [h["at"][:10] for h in mine] == ["2026-12-01", "2026-12-02"]
    finally:
        rt.clock = saved
    code, out = await xinfang(
        backend, tmp_path, "audit", "verify", "--tenant", t.slug, "--heads", str(path)
    )
    assert code == 0, out
    (deployment,) = await audit.verify(rt, 0, audit.read_heads_file(path))
    assert deployment.ok and deployment.rows > 0, deployment.breaks


async def test_export_clear_is_recorded_without_values(make_tenant: Any, rt: Any) -> None:
    from core.services import audit, users

    t = await make_tenant()
    p = await users.principal_for(t.scope(rt), t.users["supervisor"]["id"])
    await audit.record_export(
        t.acting(rt, p), what="cases.xlsx", rows=42, fields=["phone", "id_number"]
    )
    last = (await chain(t.id))[-1]
    assert (last["action"], last["actor"], last["actor_id"], last["target"]) == (
        "export.clear",
        "supervisor",
        p.user_id,
        "cases.xlsx",
    )
    assert json.loads(last["detail"]) == {"rows": 42, "fields": ["id_number", "phone"]}
