"""Piccolo app for the daemon's tables (rota, reminders, inbox); depends on the core app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from daemon.tables import DAEMON_TABLES

APP_CONFIG = AppConfig(
    app_name="daemon",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(DAEMON_TABLES),
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
