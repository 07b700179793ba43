"""Telling the petitioner by SMS (issue 14): the ``sms_http`` plugin against a local fake
gateway, through the real path — the API registers and handles the matter, the step
queues one outbox row per (case, event) in its own transaction, the daemon's delivery
job (``run_deliver``) sends it with the phone decrypted only at send time.

Exactly once: re-running delivery sends nothing more; concurrent deliverers never
double-send; a gateway 5xx is retried with backoff and then sent once; a 4xx fails for
good. The phone never appears in the outbox payload, the delivery rows or the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.clock import FixedClock
from core.db.engine import tenant_tx
from core.db.notify.tables import InboxMessage, NotifyDelivery
from core.db.tables import Outbox
from core.services.plugin_admin import MASK
from core.settings import TIMEZONE
from daemon.notify.deliver import MAX_ATTEMPTS, deliver_tenant
from daemon.notify.jobs import run_deliver
from tests.conftest import valid_id_number
from tests.integration.test_lifecycle import act, register

pytestmark = pytest.mark.asyncio
START = datetime(2026, 12, 8, 10, 0, tzinfo=TIMEZONE)
PHONE = "13987654321"
TOKEN = "gw-token-0123456789"


class Gateway:
    """A fake SMS gateway on 127.0.0.1 (random port, own thread): records each request
    and answers the queued statuses in turn, then 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []
        self.received = threading.Event()
        self.in_flight = 0
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with gateway.lock:
                    status = gateway.statuses.pop(0) if gateway.statuses else 200
                    delay = gateway.delays.pop(0) if gateway.delays else 0.0
                    gateway.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(raw),
                            "status": status,
                        }
                    )
                    gateway.in_flight += 1
                gateway.received.set()
                time.sleep(delay)
                with gateway.lock:
                    gateway.in_flight -= 1
                with contextlib.suppress(OSError):  # the client was killed meanwhile
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "x"}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        return [str(r["body"]["content"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.close()


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


@pytest.fixture
def sms_plugin(rt: Any) -> Iterator[None]:
    """The plugin as its entry point registers it (the shared test environment may be
    installed from a checkout that predates the entry point)."""
    import plugins.sms_http

    added = not rt.plugins.is_installed("sms_http")
    if added:
        rt.plugins.register("sms_http", plugins.sms_http)
    yield
    if added:
        rt.plugins.unregister("sms_http")


async def setup_sms(
    client: Any,
    make_tenant: Any,
    gateway: Gateway,
    *,
    signature: str = "【测试信访局】",
    templates: dict[str, str] | None = None,
    channel: bool = True,
    extra: dict[str, Any] | None = None,
) -> Any:
    """A tenant that enabled ``sms_http`` through the admin API (gateway, token,
    signature, templates) and chose it as its petitioner channel."""
    t = await make_tenant()
    config: dict[str, Any] = {"url": gateway.url, "auth_token": TOKEN, "signature": signature}
    if templates:
        config["templates"] = templates
    config.update(extra or {})
    r = await client.put(
        "/api/v1/admin/plugins/sms_http",
        json={"enabled": True, "config": config},
        headers=t.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["config"]["auth_token"] == MASK  # never read back in clear
    if channel:
        r = await client.get("/api/v1/tenant/settings", headers=t.headers("admin"))
        body = {"name": r.json()["name"], "rule_pack": r.json()["rule_pack"]}
        r = await client.put(
            "/api/v1/tenant/settings",
            json={**body, "petitioner_channel": "sms_http"},
            headers=t.headers("admin"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["petitioner_channel"] == "sms_http"
    return t


def visitor(phone: str | None = PHONE, seq: int = 457) -> dict[str, Any]:
    v: dict[str, Any] = {"name": "王五", "id_number": valid_id_number(seq=seq)}
    if phone:
        v["phone"] = phone
    return v


def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Everything at DEBUG, as ``core.logs`` configures it at its most verbose (the
    SQLite driver, which logs statement parameters, stays at INFO whatever the level)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="aiosqlite")


async def deliver(rt: Any, t: Any, now: datetime = START, times: int = 1) -> None:
    for _ in range(times):
        await run_deliver(rt, tenants=[t.id], now=now + timedelta(seconds=1))


async def petitioner_rows(t: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with tenant_tx(t.id, write=False):
        outbox = await Outbox.select().where(
            (Outbox.tenant_id == t.id) & Outbox.kind.like("petitioner.%")
        )
        deliveries = await NotifyDelivery.select().where(
            (NotifyDelivery.tenant_id == t.id) & NotifyDelivery.visitor_id.is_not_null()
        )
    return outbox, deliveries


async def test_each_step_sends_one_sms_with_the_tenants_template_exactly_once(
    rt: Any,
    client: Any,
    make_tenant: Any,
    gateway: Gateway,
    clock: FixedClock,
    sms_plugin: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    debug_logs(caplog)
    t = await setup_sms(
        client,
        make_tenant,
        gateway,
        templates={"accepted": "编号{receipt_code}已受理（{tenant_name}，{date}）。"},
    )
    other_gw = Gateway()
    try:
        other = await setup_sms(
            client,
            make_tenant,
            other_gw,
            signature="【别家机构】",
            templates={"registered": "别家模板：{receipt_code}"},
        )
        case = await register(client, t, visitor=visitor())
        code, cid = case["receipt_code"], case["id"]
        await deliver(rt, t, times=3)  # re-running sends nothing more
        assert len(gateway.requests) == 1
        sms = gateway.requests[0]
        assert sms["body"]["mobile"] == PHONE
        assert sms["headers"]["Authorization"] == TOKEN
        text = gateway.texts()[0]
        assert text.startswith("【测试信访局】") and code in text
        assert f"/t/{t.slug}/lookup" in text and "后4位" in text
        assert "2026年12月8日" in text
        assert "别家" not in text  # another tenant's template and signature are its own

        await act(client, t, cid, "accept", "clerk")
        await deliver(rt, t, times=2)
        assert len(gateway.requests) == 2
        assert (
            gateway.texts()[1]
            == f"【测试信访局】编号{code}已受理（{t.info.name}，2026年12月8日）。"
        )

        await act(client, t, cid, "close", "supervisor", opinion="support", opinion_text="予以支持")
        await deliver(rt, t, times=2)
        assert len(gateway.requests) == 3
        result = gateway.texts()[2]
        assert code in result and "办结" in result and "支持" in result and "30日" in result

        await act(client, t, cid, "request_review", "clerk", reason="不服处理意见")
        await act(client, t, cid, "decide_review", "leader", opinion="explain", opinion_text="维持")
        await deliver(rt, t, times=2)
        assert len(gateway.requests) == 4  # a review request tells nothing; its decision does
        review = gateway.texts()[3]
        assert "复查意见：解释说明" in review and "复核" in review and code in review

        # Another tenant's petitioner is told with that tenant's template, by its gateway.
        theirs = await register(client, other, visitor=visitor("13700001234"))
        await deliver(rt, other)
        assert other_gw.texts() == [f"【别家机构】别家模板：{theirs['receipt_code']}"]
        assert len(gateway.requests) == 4
    finally:
        other_gw.close()

    outbox, deliveries = await petitioner_rows(t)
    assert sorted(r["kind"] for r in outbox) == [
        "petitioner.accepted",
        "petitioner.registered",
        "petitioner.result",
        "petitioner.review_result",
    ]
    assert all(r["sent_at"] is not None for r in outbox)
    assert [d["state"] for d in deliveries] == ["sent"] * 4
    assert all(d["user_id"] == 0 and d["channel"] == "sms_http" for d in deliveries)
    # No inbox message for a petitioner row: it is nobody's on the staff side.
    async with tenant_tx(t.id, write=False):
        ids = {r["id"] for r in outbox}
        assert not await InboxMessage.count().where(
            (InboxMessage.tenant_id == t.id) & InboxMessage.outbox_id.is_in(list(ids))
        )
    # The phone is nowhere but in the request to the gateway.
    for row in [*outbox, *deliveries]:
        assert PHONE not in json.dumps(row, default=str)
        assert "13700001234" not in json.dumps(row, default=str)
    assert caplog.records, "the logs were captured"
    assert PHONE not in caplog.text and TOKEN not in caplog.text


async def test_not_accepted_names_the_proper_channel(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    case = await register(client, t, visitor=visitor())
    await act(
        client, t, case["id"], "not_accept", "clerk", channel="litigation", reason="属于民事纠纷"
    )
    await deliver(rt, t)
    registered, refused = gateway.texts()
    assert case["receipt_code"] in registered and "登记" in registered
    assert case["receipt_code"] in refused and "不予受理" in refused and "诉讼" in refused
    assert "民事纠纷" not in refused  # the reason is for the written notice, not the SMS


async def test_gateway_500_is_retried_with_backoff_and_sent_once(
    rt: Any,
    client: Any,
    make_tenant: Any,
    gateway: Gateway,
    clock: FixedClock,
    sms_plugin: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    debug_logs(caplog)
    t = await setup_sms(client, make_tenant, gateway)
    gateway.statuses = [500]
    await register(client, t, visitor=visitor())
    await deliver(rt, t, times=2)  # the second run is before the backoff: no new try
    assert len(gateway.requests) == 1
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "pending" and d["attempts"] == 1 and d["last_error"] == "plugin_failed"
    assert d["next_attempt_at"] > START + timedelta(minutes=1)
    assert "failed" in caplog.text  # the failure is logged …
    assert PHONE not in caplog.text  # … without the phone

    later = START + timedelta(minutes=3)
    await deliver(rt, t, now=later, times=3)
    assert len(gateway.requests) == 2
    assert gateway.requests[0]["body"] == gateway.requests[1]["body"]
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "sent" and d["attempts"] == 2
    await deliver(rt, t, now=later + timedelta(days=1))
    assert len(gateway.requests) == 2


async def test_gateway_timeout_is_retried(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway, extra={"timeout_seconds": 1})
    gateway.delays = [2.0]
    await register(client, t, visitor=visitor())
    await deliver(rt, t)
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "pending" and d["attempts"] == 1 and d["last_error"] == "plugin_failed"
    await deliver(rt, t, now=START + timedelta(minutes=3))
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "sent" and len(gateway.requests) == 2


async def test_worker_stopped_mid_send_sends_again_never_loses_it(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    """A deliverer stopped after the gateway took the SMS and before the commit (what a
    SIGKILL does, here a cancelled task): the row stays pending and the next run sends
    it again — at least once, never lost — with the same ``message_id``, so a gateway
    that takes client ids can drop the repeat. After that, nothing more."""
    body = '{"mobile": "{phone}", "content": "{text}", "cid": "{message_id}"}'
    t = await setup_sms(client, make_tenant, gateway, extra={"body_template": body})
    gateway.delays = [1.0]
    await register(client, t, visitor=visitor())
    task = asyncio.create_task(deliver(rt, t))
    assert await asyncio.to_thread(gateway.received.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "pending" and d["attempts"] == 0
    await deliver(rt, t, times=3)
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "sent"
    assert len(gateway.requests) == 2
    first, again = (r["body"] for r in gateway.requests)
    assert first == again and first["cid"] == f"xinfang.{t.id}.{d['outbox_id']}"


async def test_gateway_4xx_fails_for_good_and_is_not_retried(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    gateway.statuses = [400]
    await register(client, t, visitor=visitor())
    await deliver(rt, t)
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "failed" and d["last_error"] == "gateway_http_400"
    assert PHONE not in d["last_error"]
    for days in (1, 10):
        await deliver(rt, t, now=START + timedelta(days=days))
    assert len(gateway.requests) == 1


async def test_gateway_down_gives_up_after_max_attempts(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    gateway.statuses = [503] * MAX_ATTEMPTS
    await register(client, t, visitor=visitor())
    now = START
    for _ in range(MAX_ATTEMPTS + 2):
        await deliver(rt, t, now=now)
        now += timedelta(days=3)  # past every backoff
    assert len(gateway.requests) == MAX_ATTEMPTS
    _, (d,) = await petitioner_rows(t)
    assert d["state"] == "failed" and d["attempts"] == MAX_ATTEMPTS


async def test_nothing_is_queued_without_a_channel_or_a_phone(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    without = await setup_sms(client, make_tenant, gateway, channel=False)
    case = await register(client, without, visitor=visitor())
    await act(client, without, case["id"], "accept", "clerk")
    await deliver(rt, without)
    assert await petitioner_rows(without) == ([], [])

    t = await setup_sms(client, make_tenant, gateway)
    case = await register(client, t, visitor=visitor(phone=None))
    await act(client, t, case["id"], "accept", "clerk")
    await deliver(rt, t)
    assert await petitioner_rows(t) == ([], [])
    assert gateway.requests == []

    # Turned off again (""): the next matter's petitioner is not told.
    r = await client.get("/api/v1/tenant/settings", headers=t.headers("admin"))
    body = {"name": r.json()["name"], "rule_pack": r.json()["rule_pack"], "petitioner_channel": ""}
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["petitioner_channel"] == ""
    await register(client, t, visitor=visitor())
    assert await petitioner_rows(t) == ([], [])


async def test_outbox_row_is_written_with_the_step_and_carries_no_phone(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    case = await register(client, t, visitor=visitor())
    # A refused step writes nothing: accepting twice is a conflict, no second row.
    await act(client, t, case["id"], "accept", "clerk")
    await act(client, t, case["id"], "accept", "clerk", status=409)
    outbox, _ = await petitioner_rows(t)
    assert sorted(r["dedupe_key"] for r in outbox) == [
        f"petitioner:{case['id']}:accepted",
        f"petitioner:{case['id']}:registered",
    ]
    for r in outbox:
        payload = r["payload"] if isinstance(r["payload"], dict) else json.loads(r["payload"])
        assert set(payload) <= {
            "audience",
            "event",
            "case_id",
            "visitor_id",
            "receipt_code",
            "on",
            "redirect_channel",
            "opinion",
        }
        assert payload["receipt_code"] == case["receipt_code"] and payload["on"] == "2026-12-08"
        assert r["channel"] == "sms_http" and r["recipient_id"] is None


async def test_concurrent_deliverers_send_each_sms_once(
    backend: Any,
    rt: Any,
    client: Any,
    make_tenant: Any,
    gateway: Gateway,
    clock: FixedClock,
    sms_plugin: None,
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    codes = []
    for i in range(6):
        case = await register(client, t, visitor=visitor(f"1390000{i:04d}", seq=600 + i))
        codes.append(case["receipt_code"])
    now = START + timedelta(seconds=1)
    await asyncio.gather(*(deliver_tenant(t.scope(rt), {}, now) for _ in range(4)))
    sent = gateway.texts()
    assert len(sent) == 6
    assert sorted(c for c in codes for s in sent if c in s) == sorted(codes)
    assert sorted(r["body"]["mobile"] for r in gateway.requests) == [
        f"1390000{i:04d}" for i in range(6)
    ]


async def test_settings_are_checked_and_the_token_stays_secret(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    t = await setup_sms(client, make_tenant, gateway)
    admin = t.headers("admin")
    for config, field in (
        ({"templates": {"registered": "{receipt_code.__class__}"}}, "templates.registered"),
        ({"templates": {"registered": "编号{phone}"}}, "templates.registered"),
        ({"body_template": '{"to": "{phone}"}'}, "body_template"),
        ({"body_template": "not json"}, "body_template"),
        ({"url": "ftp://gw"}, "url"),
        ({"method": "GET"}, "method"),
        ({"timeout_seconds": 600}, "timeout_seconds"),
    ):
        r = await client.put(
            "/api/v1/admin/plugins/sms_http", json={"config": {**config}}, headers=admin
        )
        assert r.status_code == 422, (config, r.text)
        assert r.json()["error"]["field"] == field, r.text

    # The admin page sends the masked token back: the stored one is kept.
    r = await client.get("/api/v1/admin/plugins", headers=admin)
    mine = next(p for p in r.json() if p["name"] == "sms_http")
    assert mine["config"]["auth_token"] == MASK and TOKEN not in r.text
    r = await client.put(
        "/api/v1/admin/plugins/sms_http",
        json={"config": {**mine["config"], "signature": "【改名后】"}},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    await register(client, t, visitor=visitor())
    await deliver(rt, t)
    assert gateway.requests[0]["headers"]["Authorization"] == TOKEN
    assert gateway.texts()[0].startswith("【改名后】")

    # A channel no enabled plugin offers is refused, naming the field.
    other = await make_tenant()
    r = await client.get("/api/v1/tenant/settings", headers=other.headers("admin"))
    body = {"name": r.json()["name"], "rule_pack": r.json()["rule_pack"]}
    r = await client.put(
        "/api/v1/tenant/settings",
        json={**body, "petitioner_channel": "sms_http"},
        headers=other.headers("admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_channel"
    assert r.json()["error"]["field"] == "petitioner_channel"


async def test_admin_page_never_shows_the_token_and_keeps_it_on_save(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    from tests.integration.test_admin_pages import HTML, at_field, post, signed_in

    t = await setup_sms(client, make_tenant, gateway)
    token = await signed_in(client, t.slug)
    page = await client.get("/admin/plugins", headers=HTML)
    assert 'id="plugin-sms_http"' in page.text and 'name="config.auth_token"' in page.text
    assert TOKEN not in page.text and MASK in page.text
    r = await client.get("/api/v1/admin/plugins", headers=t.headers("admin"))
    shown = next(p for p in r.json() if p["name"] == "sms_http")["config"]
    form = {f"config.{k}": str(v) for k, v in shown.items() if k != "templates"}
    form.update({f"config.templates.{k}": v for k, v in shown["templates"].items()})

    bad = {**form, "config.templates.accepted": "编号{receipt_code}，电话{phone}"}
    r = await post(client, "/admin/plugins/sms_http", token, bad)
    assert r.status_code == 422, r.text
    assert at_field(r.text, "f-p-sms_http-config-templates-accepted", "{phone}")
    assert TOKEN not in r.text

    r = await post(
        client, "/admin/plugins/sms_http", token, {**form, "config.signature": "【页面】"}
    )
    assert r.status_code == 303, r.text
    await register(client, t, visitor=visitor())
    await deliver(rt, t)
    assert gateway.requests[0]["headers"]["Authorization"] == TOKEN  # kept, not "********"
    assert gateway.texts()[0].startswith("【页面】")


async def test_the_link_in_the_receipt_sms_looks_the_matter_up(
    rt: Any, client: Any, make_tenant: Any, gateway: Gateway, clock: FixedClock, sms_plugin: None
) -> None:
    """The SMS's lookup link is the public lookup page, where the receipt code and the last
    4 digits of the phone find the matter."""
    import re
    from urllib.parse import urlsplit

    t = await setup_sms(client, make_tenant, gateway)
    case = await register(client, t, visitor=visitor())
    await deliver(rt, t)
    found = re.search(r"https?://[^\s，。]+", gateway.texts()[0])
    assert found
    path = urlsplit(found.group(0)).path
    assert path == f"/t/{t.slug}/lookup"
    assert (await client.get(path)).status_code == 200
    r = await client.post(
        f"{path}.json", json={"receipt_code": case["receipt_code"], "phone_last4": PHONE[-4:]}
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{path}.json", json={"receipt_code": case["receipt_code"], "phone_last4": "0000"}
    )
    assert r.status_code == 404
