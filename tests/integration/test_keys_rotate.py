"""Rotating the secret key on both engines, the way an admin does it: data registered
through the API under key A; the app restarted with XINFANG_SECRET_KEY=B and
XINFANG_PREVIOUS_SECRET_KEYS=A keeps reading and finding everything; `xinfang keys
rotate` (a real subprocess) moves the data to B in resumable batches; then B alone reads
it all and A alone reads nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.db.engine import tenant_tx
from core.db.tables import CaseParticipant, PetitionCase, Visitor
from core.runtime import Runtime
from core.security import DecryptionError, Keys
from core.services import open311
from core.settings import load_settings
from tests.conftest import REDIS_URL, TEST_SECRET, client_address, valid_id_number
from tests.integration.test_plugin_platform import case_body

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
KEY_A = TEST_SECRET  # what the backend fixture's runtime (and the `client`) encrypt with
KEY_B = "rotated-secret-key-9876543210-ZYXWVUTSRQPONM"

ID_1 = valid_id_number("110105", "19800101", 123)
ID_REP = valid_id_number("310101", "19750505", 456)
PHONE_1 = "13912345678"
ADDRESS_1 = "北京市朝阳区幸福小区3号楼2单元1702"
ACCOUNT = "HX-20331-88"


def _env(backend: Any, current: str, previous: tuple[str, ...]) -> dict[str, str]:
    return {
        "XINFANG_DATA_DIR": str(backend.settings.data_dir),
        "XINFANG_SECRET_KEY": current,
        "XINFANG_PREVIOUS_SECRET_KEYS": ",".join(previous),
        "DATABASE_URL": backend.settings.database.url,
        "REDIS_URL": REDIS_URL,
    }


def _runtime(backend: Any, current: str, *previous: str) -> Runtime:
    """A freshly started process's runtime with these keys, on the test database."""
    rt = Runtime.build(load_settings(_env(backend, current, previous)))
    rt.redis = backend.rt.redis
    return rt


@asynccontextmanager
async def _client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    from core.web.app import create_app

    transport = httpx.ASGITransport(
        app=create_app(rt, manage_resources=False), client=(client_address(), 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def _xinfang(backend: Any, *args: str, current: str, previous: tuple[str, ...] = ()) -> Any:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(_env(backend, current, previous))
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "core.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _counts(stdout: str, label: str) -> dict[str, int]:
    """{table: count} from the per-table lines of `keys rotate` / `keys status`."""
    found = re.findall(rf"^(\w+)\s+已检查\s+\d+\s+{label}\s+(\d+)", stdout, re.M)
    return {table: int(n) for table, n in found}


def _no_plaintext(*outputs: str) -> None:
    for text in outputs:
        for secret in (ID_1, ID_REP, PHONE_1, ADDRESS_1, ACCOUNT, "1702", "zhang@example.cn"):
            assert secret not in text


async def _tokens(tenant_id: int) -> list[tuple[str, str]]:
    """Every (context, token) of the tenant, read straight from the tables."""
    out: list[tuple[str, str]] = []
    async with tenant_tx(tenant_id, write=False):
        for table in (Visitor, CaseParticipant):
            for row in await table.select().where(table.tenant_id == tenant_id):
                for col, ctx in (
                    ("id_number_enc", "visitor.id_number"),
                    ("phone_enc", "visitor.phone"),
                    ("address_enc", "visitor.address"),
                    ("email_enc", "visitor.email"),
                ):
                    if row.get(col):
                        out.append((ctx, row[col]))
        forms = (
            await PetitionCase.select(PetitionCase.form)
            .where(PetitionCase.tenant_id == tenant_id)
            .output(load_json=True)
        )
        for row in forms:
            for key, token in ((row["form"] or {}).get("_sealed") or {}).items():
                out.append((f"form.{key}", token))
    return out


async def _register_under_key_a(client: Any, rt: Any, t: Any) -> dict[str, Any]:
    """Three people and their matters, as a clerk and the Open311 channel enter them."""
    form = {"building": "3号楼", "room": "1702", "account_number": ACCOUNT, "indoor_temp": 17}
    person = {"name": "王小明", "id_number": ID_1, "phone": PHONE_1, "address": ADDRESS_1}
    r = await client.post(
        "/api/v1/cases",
        json=case_body("heating", form, visitor=person, cause="小区暖气不热，室温只有十七度"),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    heating = r.json()
    reps = [
        {"name": "李代表", "id_number": ID_REP, "phone": "13700001111"},
        {"name": "赵代表", "phone": "13700002222"},
    ]
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "general",
            visitor={"name": "陈某", "phone": "13600003333"},
            headcount=8,
            representatives=reps,
            cause="拆迁补偿款迟迟未发放",
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    group = r.json()
    key = await open311.create_key(t.scope(rt))
    r = await client.post(
        f"/open311/{t.slug}/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "general",
            "description": "路灯坏了很久没人修",
            "first_name": "建国",
            "last_name": "张",
            "phone": "13500004444",
            "email": "zhang@example.cn",
        },
    )
    assert r.status_code == 201, r.text
    return {"heating": heating, "group": group}


async def test_rotate_moves_everything_to_the_new_key_without_downtime(
    backend: Any, rt: Any, client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    cases = await _register_under_key_a(client, rt, t)
    heating_id, visitor_1 = cases["heating"]["id"], cases["heating"]["visitor"]["id"]
    before = await _tokens(t.id)
    # Visitors: ID+phone+address, phone, phone+email (Open311); representatives:
    # ID+phone, phone; the heating form: room+account number.
    assert len(before) == 11

    # 1. Restarted with B as the key and A as the previous one: everything still works.
    rotating = _runtime(backend, KEY_B, KEY_A)
    async with _client(rotating) as web:
        r = await web.get(f"/api/v1/cases/{heating_id}", headers=t.headers())
        assert r.status_code == 200, r.text
        detail = r.json()
        assert detail["form"]["account_number"] == ACCOUNT and detail["form"]["room"] == "1702"
        assert detail["visitor"]["id_number"] == cases["heating"]["visitor"]["id_number"]
        assert detail["visitor"]["id_number"] != ID_1 and "*" in detail["visitor"]["phone"]
        found = (
            await web.get("/api/v1/visitors", params={"id_number": ID_1}, headers=t.headers())
        ).json()
        assert [v["id"] for v in found] == [visitor_1]
        by_phone = (
            await web.get("/api/v1/visitors", params={"phone": PHONE_1}, headers=t.headers())
        ).json()
        assert [v["id"] for v in by_phone] == [visitor_1]
        # The same person comes again: recognised by ID number, and the matter as a repeat.
        again = await web.post(
            "/api/v1/cases",
            json=case_body(
                "heating",
                {"building": "3号楼", "indoor_temp": 16},
                visitor={"name": "王小明", "id_number": ID_1},
                cause="小区暖气还是不热，室温只有十六度",
            ),
            headers=t.headers(),
        )
        assert again.status_code == 201, again.text
        assert again.json()["visitor"]["id"] == visitor_1
        assert again.json()["visit_kind"] == "repeat"
        # A new person registered now is sealed under B already.
        fresh = await web.post(
            "/api/v1/visitors",
            json={
                "name": "新来访人",
                "id_number": valid_id_number(seq=777),
                "phone": "13300005555",
            },
            headers=t.headers(),
        )
        assert fresh.status_code == 201 and fresh.json()["created"] is True

    # 2. Status, then a rotation stopped after one batch (as if interrupted).
    old_key = {"current": KEY_B, "previous": (KEY_A,)}
    status = await _xinfang(backend, "keys", "status", "--tenant", t.slug, **old_key)
    assert status.returncode == 1, status.stderr
    pending = _counts(status.stdout, "仍用旧密钥")
    # 3 visitors, 2 representatives and 1 case form were written under A.
    assert pending == {"visitor": 3, "case_participant": 2, "petition_case": 1, "case_transfer": 0}
    first = await _xinfang(
        backend, "keys", "rotate", "--tenant", t.slug, "--batch", "1", "--max-batches", "1",
        **old_key,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert _counts(first.stdout, "已重新加密") == {
        "visitor": 1, "case_participant": 0, "petition_case": 0, "case_transfer": 0,
    }  # fmt: skip
    assert "再次运行" in first.stdout
    middle = await _xinfang(backend, "keys", "status", "--tenant", t.slug, **old_key)
    assert sum(_counts(middle.stdout, "仍用旧密钥").values()) == sum(pending.values()) - 1

    # Half rotated, the app still finds people under either key.
    async with _client(rotating) as web:
        found = (
            await web.get("/api/v1/visitors", params={"id_number": ID_1}, headers=t.headers())
        ).json()
        assert [v["id"] for v in found] == [visitor_1]  # moved to B by the first batch
        group_visitor = cases["group"]["visitor"]["id"]
        same = await web.post(
            "/api/v1/visitors", json={"name": "陈某", "phone": "13600003333"}, headers=t.headers()
        )  # still indexed under A: found by name + phone
        assert same.json()["id"] == group_visitor and same.json()["created"] is False

    # 3. Finish, then a second run rewrites nothing.
    rest = await _xinfang(backend, "keys", "rotate", "--tenant", t.slug, "--batch", "2", **old_key)
    assert rest.returncode == 0, rest.stderr
    rewritten = _counts(rest.stdout, "已重新加密")
    assert rewritten == {**pending, "visitor": pending["visitor"] - 1}
    again_run = await _xinfang(backend, "keys", "rotate", "--tenant", t.slug, **old_key)
    assert set(_counts(again_run.stdout, "已重新加密").values()) == {0}
    done = await _xinfang(backend, "keys", "status", "--tenant", t.slug, **old_key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_counts(done.stdout, "仍用旧密钥").values()) == {0}
    assert "可以从 XINFANG_PREVIOUS_SECRET_KEYS 删除旧密钥" in done.stdout
    _no_plaintext(*(p.stdout + p.stderr for p in (status, first, middle, rest, again_run, done)))

    # 4. B alone reads and finds everything; the tokens no longer open under A.
    only_b = _runtime(backend, KEY_B)
    async with _client(only_b) as web:
        detail = (await web.get(f"/api/v1/cases/{heating_id}", headers=t.headers())).json()
        assert detail["form"]["account_number"] == ACCOUNT and detail["form"]["room"] == "1702"
        for params in ({"id_number": ID_1}, {"phone": PHONE_1}):
            r = await web.get("/api/v1/visitors", params=params, headers=t.headers())
            assert [v["id"] for v in r.json()] == [visitor_1]
        rep = await web.get(
            "/api/v1/visitors", params={"phone": "13500004444"}, headers=t.headers()
        )
        assert len(rep.json()) == 1  # the Open311 petitioner
    status_b = await _xinfang(backend, "keys", "status", "--tenant", t.slug, current=KEY_B)
    assert status_b.returncode == 0, status_b.stdout + status_b.stderr
    assert "可以从" not in status_b.stdout  # no previous key configured any more

    after = await _tokens(t.id)
    assert len(after) == len(before) + 2  # the person registered under B: ID and phone
    keys_a, keys_b = Keys.from_secret(KEY_A), Keys.from_secret(KEY_B)
    plain = {keys_b.decrypt(token, context=ctx) for ctx, token in after}
    assert {ID_1, ID_REP, PHONE_1, ADDRESS_1, "zhang@example.cn"} <= plain
    assert json.dumps(ACCOUNT) in plain
    for ctx, token in after:
        with pytest.raises(DecryptionError):
            keys_a.decrypt(token, context=ctx)
    only_a = _runtime(backend, KEY_A)
    async with _client(only_a) as web:
        r = await web.get("/api/v1/visitors", params={"id_number": ID_1}, headers=t.headers())
        assert r.status_code == 200 and r.json() == []  # blind indexes moved to B too


async def test_a_missing_previous_key_is_reported_and_nothing_is_touched(
    backend: Any, client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    r = await client.post(
        "/api/v1/cases",
        json=case_body("general", visitor={"name": "孙某", "id_number": ID_1, "phone": PHONE_1}),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    before = await _tokens(t.id)
    # The admin set the new key but forgot XINFANG_PREVIOUS_SECRET_KEYS.
    run = await _xinfang(backend, "keys", "rotate", "--tenant", t.slug, current=KEY_B)
    assert run.returncode == 1
    assert "XINFANG_PREVIOUS_SECRET_KEYS" in run.stderr and "Traceback" not in run.stderr
    assert _counts(run.stdout, "已重新加密")["visitor"] == 0
    assert await _tokens(t.id) == before
    async with _client(_runtime(backend, KEY_A)) as web:  # A still finds the person
        found = await web.get("/api/v1/visitors", params={"id_number": ID_1}, headers=t.headers())
        assert [v["id"] for v in found.json()] == [r.json()["visitor"]["id"]]
    unknown = await _xinfang(backend, "keys", "status", "--tenant", "no-such", current=KEY_B)
    assert unknown.returncode != 0 and "tenant_not_found" in unknown.stderr
    _no_plaintext(run.stdout + run.stderr)


async def test_an_open311_email_left_in_the_event_log_moves_to_the_visitor(
    backend: Any, rt: Any, client: Any, make_tenant: Any
) -> None:
    from core.services import events

    t = await make_tenant()
    r = await client.post(
        "/api/v1/cases",
        json=case_body("general", visitor={"name": "周某", "phone": "13800009999"}),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case_id, visitor_id = r.json()["id"], r.json()["visitor"]["id"]
    # What versions before migration m0005 wrote: the email only in the append-only log.
    legacy = rt.keys.encrypt("old@example.cn", context="visitor.email")
    async with tenant_tx(t.id):
        await events.record_event(
            t.scope(rt), case_id, "open311_submitted", at=rt.clock.now(), data={"email_enc": legacy}
        )
    # Even without a new key, the email has to move before a key could ever be dropped.
    status = await _xinfang(backend, "keys", "status", "--tenant", t.slug, current=KEY_A)
    assert status.returncode == 1 and _counts(status.stdout, "仍用旧密钥")["visitor"] == 1
    run = await _xinfang(
        backend, "keys", "rotate", "--tenant", t.slug, current=KEY_B, previous=(KEY_A,)
    )
    assert run.returncode == 0 and _counts(run.stdout, "已重新加密")["visitor"] == 1
    sc = t.scope(rt)
    async with sc.tx(write=False):
        row = await sc.select(Visitor, Visitor.email_enc).where(Visitor.id == visitor_id).first()
    assert row is not None
    assert Keys.from_secret(KEY_B).decrypt(row["email_enc"], context="visitor.email") == (
        "old@example.cn"
    )
    done = await _xinfang(backend, "keys", "status", "--tenant", t.slug, current=KEY_B)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "old@example.cn" not in status.stdout + run.stdout + done.stdout
