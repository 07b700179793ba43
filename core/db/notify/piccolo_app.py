"""Piccolo app for reminders and the in-app inbox; depends on the core app.

The app name ``notify`` and the migration IDs are what existing databases recorded
(when these tables lived in ``daemon/notify/``); they must not change.
"""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.db.notify.tables import NOTIFY_TABLES

APP_CONFIG = AppConfig(
    app_name="notify",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(NOTIFY_TABLES),
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
