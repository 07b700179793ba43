"""Time, always in Asia/Shanghai. Injected so the daemon can be driven through simulated days."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime

from core.settings import TIMEZONE


class Clock:
    """Wall clock. The daemon and services take one, never call ``datetime.now`` directly."""

    def now(self) -> datetime:
        return datetime.now(TIMEZONE)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A settable clock for simulations and replays (e.g. catching up after downtime)."""

    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(TIMEZONE)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(TIMEZONE)


class FileClock(Clock):
    """Simulated time shared by processes: "now" is the ISO datetime written in a file.

    Selected by ``XINFANG_FAKE_NOW_FILE`` (see :func:`clock_from_env`) so a test can drive
    real worker processes through simulated days; with the file absent or empty it is
    the wall clock. Never set in production."""

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return super().now()
        return datetime.fromisoformat(text).astimezone(TIMEZONE)


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    """The wall clock, unless ``XINFANG_FAKE_NOW_FILE`` names a simulated-time file."""
    path = (os.environ if env is None else env).get("XINFANG_FAKE_NOW_FILE")
    return FileClock(path) if path else Clock()
