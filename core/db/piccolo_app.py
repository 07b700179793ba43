"""Piccolo app for the core tables; plugins ship their own apps depending on this one."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.db.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
