"""Time, always in Asia/Shanghai. Injected so the daemon can be driven through simulated days."""

from __future__ import annotations

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
