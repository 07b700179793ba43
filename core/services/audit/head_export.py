"""Exporting the chains' heads every day: to a heads file and the log (and syslog), so
a consistent rewrite by someone holding the secret still shows."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.services.audit.chain import canonical
from core.services.audit.verification import heads, read_heads_file
from core.settings import TIMEZONE

if TYPE_CHECKING:
    from core.runtime import Runtime

log = logging.getLogger("xinfang.audit")


def _syslog(address: str) -> logging.Handler:
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = (host, int(port)) if host and port.isdigit() else address
    handler = logging.handlers.SysLogHandler(address=target)
    handler.setFormatter(logging.Formatter("xinfang-audit: %(message)s"))
    return handler


_syslog_handlers: dict[str, logging.Handler] = {}


async def export_heads(
    rt: Runtime, path: Path, *, once_per_day: bool = False
) -> list[dict[str, Any]]:
    """Append the current head of every chain to ``path`` (one JSON line each) and log
    it through ``xinfang.audit`` (and syslog when ``XINFANG_AUDIT_SYSLOG`` is set).
    ``once_per_day``: skip chains already exported today (Asia/Shanghai) — the daily job
    may run more than once."""
    now = rt.clock.now().astimezone(TIMEZONE)
    done = await asyncio.to_thread(_exported_on, path, now.date().isoformat())
    skip = done if once_per_day else set()
    lines = [{**h, "at": now.isoformat()} for h in await heads(rt) if h["tenant_id"] not in skip]
    if not lines:
        return []
    await asyncio.to_thread(_append_lines, path, [canonical(line) for line in lines])
    address = rt.settings.audit_syslog
    if address and address not in _syslog_handlers:
        _syslog_handlers[address] = _syslog(address)
        log.addHandler(_syslog_handlers[address])
    for line in lines:
        log.info("audit head %s", canonical(line))
    return lines


def _exported_on(path: Path, day: str) -> set[int]:
    if not path.exists():
        return set()
    return {h["tenant_id"] for h in read_heads_file(path) if h["at"][:10] == day}


def _append_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
