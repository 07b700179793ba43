"""Piccolo app for the rota tables; depends on the core app.

The app keeps the name ``daemon`` from when these tables lived in ``daemon/``: Piccolo
records applied migrations by app name and migration ID, so a database migrated by an
older release upgrades without running anything twice.
"""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.db.rota.tables import ROTA_TABLES

APP_CONFIG = AppConfig(
    app_name="daemon",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(ROTA_TABLES),
    migration_dependencies=["core.db.piccolo_app"],
    commands=[],
)
