"""Tables of the notification side of the daemon (reminders, inbox)."""

from __future__ import annotations

from piccolo.table import Table

NOTIFY_TABLES: tuple[type[Table], ...] = ()
