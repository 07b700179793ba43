"""Outbox delivery: each row becomes exactly one inbox message; email through a real local
SMTP server (aiosmtpd) when configured; plugin channels through ``xinfang_notify``;
concurrent deliverers never double-send."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from core.db.engine import global_tx, tenant_tx
from core.db.notify.tables import InboxMessage, NotifyDelivery
from core.db.tables import Outbox, StaffUser, Tenant
from core.hookspecs import hookimpl
from core.services.events import enqueue
from core.settings import MailSettings
from daemon.notify.deliver import deliver_tenant
from daemon.notify.jobs import run_deliver
from tests.integration.test_reminders import at, inbox

pytestmark = pytest.mark.asyncio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(rt: Any) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    old = rt.settings
    rt.settings = dataclasses.replace(
        old, mail=MailSettings(host="127.0.0.1", port=port, sender="xinfang@example.org")
    )
    try:
        yield box
    finally:
        rt.settings = old
        controller.stop()


async def queue(rt: Any, t: Any, n: int, recipient: int, prefix: str = "k") -> None:
    async with tenant_tx(t.id):
        for i in range(n):
            await enqueue(
                t.scope(rt),
                "test",
                dedupe_key=f"{prefix}{i}",
                at=at("2026-09-16"),
                payload={"title": f"标题{i}", "body": "正文", "link": f"/cases/{i}"},
                recipient_id=recipient,
            )


async def set_email(t: Any, user_id: int, email: str) -> None:
    async with tenant_tx(t.id):
        await StaffUser.update({StaffUser.email: email}).where(
            (StaffUser.tenant_id == t.id) & (StaffUser.id == user_id)
        )


async def test_outbox_rows_become_inbox_messages_and_emails_once(
    rt: Any, make_tenant: Any, smtp: Mailbox
) -> None:
    t = await make_tenant()
    handler = t.users["handler"]["id"]
    await set_email(t, handler, "handler@example.org")
    await queue(rt, t, 3, handler)
    await queue(rt, t, 2, t.users["clerk"]["id"], prefix="c")  # clerk has no email
    for _ in range(3):
        await run_deliver(rt, tenants=[t.id], now=at("2026-09-16", 10))
    assert len(await inbox(t.id, handler)) == 3
    assert len(await inbox(t.id, t.users["clerk"]["id"])) == 2
    assert sorted(m["Subject"] for m in smtp.messages) == ["标题0", "标题1", "标题2"]
    assert len({m["Message-ID"] for m in smtp.messages}) == 3
    assert all(m["To"] == "handler@example.org" for m in smtp.messages)
    assert "http://127.0.0.1:8000/cases/0" in smtp.messages[0].get_content()


async def test_smtp_failure_is_retried_later_and_never_blocks_the_inbox(
    rt: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    handler = t.users["handler"]["id"]
    await set_email(t, handler, "handler@example.org")
    old = rt.settings
    rt.settings = dataclasses.replace(old, mail=MailSettings(host="127.0.0.1", port=free_port()))
    try:
        await queue(rt, t, 1, handler)
        await run_deliver(rt, tenants=[t.id], now=at("2026-09-16", 10))
    finally:
        rt.settings = old
    assert len(await inbox(t.id, handler)) == 1
    async with tenant_tx(t.id, write=False):
        d = await NotifyDelivery.select().where(NotifyDelivery.tenant_id == t.id).first()
    assert d is not None and d["state"] == "pending" and d["attempts"] == 1
    assert d["last_error"] and "@" not in d["last_error"]  # no address in the error


class SmsPlugin:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int, str]] = []

    @hookimpl
    def xinfang_notify(
        self, tenant: Any, channel: str, recipient: dict[str, Any], message: dict[str, Any]
    ) -> bool | None:
        if channel != "sms":
            return None
        self.sent.append((tenant.slug, recipient["id"], message["title"]))
        return True


async def test_plugin_channel_gets_the_message_only_for_tenants_that_enabled_it(
    rt: Any, make_tenant: Any
) -> None:
    plugin = SmsPlugin()
    rt.plugins.register("test_sms", plugin)
    try:
        on = await make_tenant(plugins=("test_sms",))
        off = await make_tenant()
        for t in (on, off):
            async with global_tx():
                await Tenant.update({Tenant.settings: {"notify": {"channels": ["sms"]}}}).where(
                    Tenant.id == t.id
                )
            await queue(rt, t, 2, t.users["leader"]["id"])
            await run_deliver(rt, tenants=[t.id], now=at("2026-09-16", 10))
        assert sorted(plugin.sent) == [
            (on.slug, on.users["leader"]["id"], "标题0"),
            (on.slug, on.users["leader"]["id"], "标题1"),
        ]
        async with tenant_tx(off.id, write=False):
            states = await NotifyDelivery.select(NotifyDelivery.state).where(
                NotifyDelivery.tenant_id == off.id
            )
        assert [s["state"] for s in states] == ["skipped", "skipped"]
    finally:
        rt.plugins.unregister("test_sms")


async def test_concurrent_deliverers_never_double_send(
    backend: Any, rt: Any, make_tenant: Any, smtp: Mailbox
) -> None:
    t = await make_tenant()
    handler = t.users["handler"]["id"]
    await set_email(t, handler, "handler@example.org")
    await queue(rt, t, 120, handler)
    now = at("2026-09-16", 10)
    await asyncio.gather(*(deliver_tenant(t.scope(rt), {}, now) for _ in range(4)))
    async with tenant_tx(t.id, write=False):
        pending = await Outbox.count().where((Outbox.tenant_id == t.id) & Outbox.sent_at.is_null())
        n_inbox = await InboxMessage.count().where(InboxMessage.tenant_id == t.id)
    assert pending == 0 and n_inbox == 120
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 120 and len(set(ids)) == 120
