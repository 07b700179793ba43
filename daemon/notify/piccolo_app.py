"""Piccolo app for reminders and the in-app inbox; depends on the core app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from daemon.notify.tables import NOTIFY_TABLES

APP_CONFIG = AppConfig(
    app_name="notify",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(NOTIFY_TABLES),
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
