"""case_exclusion.staff_ref: exclude by a name the accusation gives (e.g. 警号), matched
against the asking account's username and title on every read (index: m0006)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-28T23:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case exclusion by staff reference"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="CaseExclusion",
        tablename="case_exclusion",
        column_name="staff_ref",
        db_column_name="staff_ref",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
