"""The staff case page, every link the product writes (followed from the inbox with a
logged-in session), and times shown in Asia/Shanghai on a host running in UTC."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE, MailSettings
from daemon.notify.jobs import run_tick
from tests.conftest import PASSWORD, TEST_SECRET, TenantFixture
from tests.integration.test_lifecycle import act, body, register
from tests.integration.test_outbox import Mailbox, free_port, set_email
from tests.integration.test_pages_and_cli import _login
from tests.integration.test_rota_api import monday_body

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
HTML = {"accept": "text/html"}
# 05:59 in Beijing is 21:59 UTC the day before: the time the issue saw printed.
REGISTERED = datetime(2026, 9, 1, 5, 59, tzinfo=TIMEZONE)


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(REGISTERED)
    yield rt.clock
    rt.clock = saved


@pytest.fixture
def utc_host() -> Iterator[None]:
    """This process runs as a host in UTC would (conftest defaults to Shanghai)."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.fixture
def smtp(rt: Any) -> Iterator[Mailbox]:
    """A real local SMTP server, and a public base URL for absolute links in e-mails."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    old = rt.settings
    rt.settings = dataclasses.replace(
        old,
        base_url="https://xinfang.example.org",
        mail=MailSettings(host="127.0.0.1", port=port, sender="xinfang@example.org"),
    )
    try:
        yield box
    finally:
        rt.settings = old
        controller.stop()


async def login(client: Any, t: TenantFixture, role: str) -> None:
    resp = await _login(client, t.slug, role, PASSWORD)
    assert resp.status_code == 303, resp.text


# --- the case page -----------------------------------------------------------------------


async def test_case_page_shows_the_case_its_people_masked_its_timeline_and_clocks(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 12, 22, 9, 30, tzinfo=TIMEZONE))  # clocks run into 2027
    t = await make_tenant()
    case = await register(client, t, department_id=t.departments["petition"])
    cid = case["id"]
    await act(client, t, cid, "accept", "clerk")
    await login(client, t, "clerk")

    home = await client.get("/cases", headers=HTML)
    assert f'href="/cases/{cid}"' in home.text

    page = await client.get(f"/cases/{cid}", headers=HTML)
    assert page.status_code == 200, page.text
    text = page.text
    assert case["receipt_code"] in text and "已受理" in text  # status in Chinese
    assert "<dd>来访</dd>" in text and "初次信访" in text and "<dd>综合</dd>" in text
    assert "李四" in text and "139****1111" in text and "13900001111" not in text
    assert case["visitor"]["id_number"] in text  # the masked ID number only
    assert body()["visitor"]["id_number"] not in text
    assert "小区供暖温度长期不达标" in text and "尽快解决" in text
    # The timeline, in order, with Shanghai times.
    timeline = text[text.index('class="timeline"') :]
    assert timeline.index("登记") < timeline.index("受理")
    assert "2026年12月22日 09:30" in timeline
    # Every clock, the same rows the JSON API gives, with due date, mark and explanation.
    api = await client.get(f"/api/v1/cases/{cid}/deadlines")
    clocks = api.json()
    assert {c["clock"] for c in clocks} == {"accept", "notify", "handle"}
    handle = next(c for c in clocks if c["clock"] == "handle")
    assert handle["provisional"] and handle["state"] == "open"
    for c in clocks:
        for step in c["steps"]:
            assert step in text, step
    assert "办理并出具处理意见" in text and "临时期限" in text
    due = datetime.fromisoformat(handle["due"])
    assert f"{due.year}年{due.month}月{due.day}日" in text
    assert "已完成" in text  # accept and notify were met on acceptance


async def test_case_page_is_404_for_another_tenant_and_the_accused_and_asks_for_login(
    client: Any, make_tenant: Any, clock: FixedClock
) -> None:
    t, other = await make_tenant(), await make_tenant()
    mine = await register(client, t)
    theirs = await register(client, other)
    accused = await register(
        client,
        t,
        purpose="accusation",
        legal_category="accusation",
        cause="承办人员吃拿卡要",
        accused={"user_ids": [t.users["handler"]["id"]], "description": "承办人"},
    )
    anonymous = await client.get(f"/cases/{mine['id']}", headers=HTML, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307)
    assert anonymous.headers["location"] == f"/login?next=/cases/{mine['id']}"

    await login(client, t, "handler")
    assert (await client.get(f"/cases/{mine['id']}", headers=HTML)).status_code == 200
    for hidden in (theirs["id"], accused["id"], 999_999_999):
        page = await client.get(f"/cases/{hidden}", headers=HTML)
        assert page.status_code == 404 and "信访事项不存在" in page.text
        assert theirs["receipt_code"] not in page.text
    await login(client, t, "clerk")  # the accusation is visible to everyone else
    assert (await client.get(f"/cases/{accused['id']}", headers=HTML)).status_code == 200


# --- every link the product writes -------------------------------------------------------


async def test_every_link_written_into_a_message_opens_a_page(
    client: Any, make_tenant: Any, clock: FixedClock, rt: Any
) -> None:
    t, receiver = await make_tenant(), await make_tenant(prefix="recv")
    late = await register(client, t)  # accept/notify due 09-16: reminded, then escalated
    worked = await register(client, t, cause="楼道灯坏了，晚上看不见路")
    await act(client, t, worked["id"], "accept", "clerk")
    await act(
        client, t, worked["id"], "start_handling", "clerk", handler_id=t.users["handler"]["id"]
    )
    await act(client, t, worked["id"], "chase", "supervisor", note="请本周内答复")
    await act(client, t, worked["id"], "request_extension", "handler", days=10, reason="需检测")
    sent = await register(client, t, cause="供热管网漏水，应由热力公司处理")
    await act(client, t, sent["id"], "transfer", "clerk", to_tenant=receiver.slug)
    rota = await client.post(
        "/api/v1/rota/templates",
        json=monday_body([t.users["leader"]["id"]]),
        headers=t.headers("admin"),
    )
    assert rota.status_code == 201, rota.text
    await client.post("/api/v1/rota/generate", headers=t.headers("admin"))
    published = await client.post("/api/v1/rota/publish", json={}, headers=t.headers("admin"))
    assert published.json()["published"] > 0

    # Thursday 09:00: reminders, 督办, transfer and extension notices, digests, delivered.
    await run_tick(rt, tenants=[t.id, receiver.id], now=datetime(2026, 9, 24, 9, tzinfo=TIMEZONE))

    kinds: set[str] = set()
    titles: list[str] = []
    followed = 0
    for tenant in (t, receiver):
        for role in ("clerk", "handler", "leader", "supervisor", "admin"):
            await login(client, tenant, role)
            inbox = await client.get("/api/v1/inbox", params={"limit": 200})
            assert inbox.status_code == 200, inbox.text
            for m in inbox.json()["items"]:
                kinds.add(m["kind"])
                titles.append(m["title"])
                if not m["link"]:
                    continue
                page = await client.get(m["link"], headers=HTML, follow_redirects=False)
                assert page.status_code == 200, (m["kind"], m["link"], page.status_code)
                assert "<html" in page.text, m["link"]  # a page for a person, not JSON
                followed += 1
                code = re.search(r"[0-9]{6}-[0-9A-Z]{8}", m["title"])
                if code:
                    assert code.group(0) in page.text, (m["link"], m["title"])
    assert {"reminder", "digest", "rota.published", "case.chased"} <= kinds, kinds
    joined = "\n".join(titles)
    for what in ("【催办】", "【督办】", "转送逾期未确认", "延期申请", "每日待办汇总"):
        assert what in joined, what
    assert f"【督办】受理期限：{late['receipt_code']}" in joined
    assert followed >= 8


# --- Asia/Shanghai whatever the host time zone -------------------------------------------


async def test_pages_inbox_and_email_show_shanghai_times_on_a_utc_host(
    client: Any, make_tenant: Any, clock: FixedClock, rt: Any, utc_host: None, smtp: Mailbox
) -> None:
    assert time.strftime("%Z") == "UTC"
    t = await make_tenant()
    await set_email(t, t.users["clerk"]["id"], "clerk@example.org")
    case = await register(client, t, received_at=REGISTERED.isoformat())
    await login(client, t, "clerk")
    home = await client.get("/cases", headers=HTML)
    assert "05:59" in home.text and "21:59" not in home.text
    page = await client.get(f"/cases/{case['id']}", headers=HTML)
    assert "2026年9月1日 05:59" in page.text and "21:59" not in page.text
    assert "8月31日" not in page.text

    # 06:30 on Thursday 09-17 in Beijing is 22:30 on Wednesday in UTC.
    tick_at = datetime(2026, 9, 17, 6, 30, tzinfo=TIMEZONE)
    await run_tick(rt, tenants=[t.id], now=tick_at)
    inbox = await client.get("/inbox", headers=HTML)
    assert inbox.status_code == 200
    assert "2026年9月17日 06:30" in inbox.text and "22:30" not in inbox.text
    # The message's link opens the case through the inbox (marking the message read).
    opened = re.search(r'href="(/inbox/\d+/open)"', inbox.text)
    assert opened, inbox.text
    followed = await client.get(opened.group(1))
    assert followed.headers["location"] == f"/cases/{case['id']}"
    assert smtp.messages, "the clerk has an address: the reminder went out by e-mail"
    mail = smtp.messages[0]
    sent_at = parsedate_to_datetime(mail["Date"])
    assert sent_at.utcoffset() == timedelta(hours=8) and sent_at == tick_at
    assert f"https://xinfang.example.org/cases/{case['id']}" in mail.get_content()


@pytest.fixture
async def heartbeat_at(rt: Any) -> AsyncIterator[None]:
    from daemon.registry import HEARTBEAT_KEY, heartbeat

    saved = rt.clock
    rt.clock = FixedClock(REGISTERED)
    try:
        await heartbeat({"rt": rt, "redis": rt.redis})
        yield
    finally:
        rt.clock = saved
        await rt.redis.delete(HEARTBEAT_KEY)


async def test_cli_prints_shanghai_times_in_a_utc_process(
    backend: Any, heartbeat_at: None, tmp_path: Path
) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XINFANG_", "DATABASE_", "REDIS"))
    }
    env.update(
        TZ="UTC",
        XINFANG_DATA_DIR=str(tmp_path),
        XINFANG_SECRET_KEY=TEST_SECRET,
        DATABASE_URL=backend.settings.database.url,
        REDIS_URL=backend.settings.redis.url,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        "worker",
        "--check",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert "2026年9月1日 05:59:00" in stdout.decode(), stdout.decode()
