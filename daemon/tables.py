"""The daemon's tables (rota templates, reminders, inbox, feed tokens)."""

from __future__ import annotations

from piccolo.table import Table

DAEMON_TABLES: tuple[type[Table], ...] = ()
