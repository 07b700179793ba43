"""case_attachment: scanned letters and evidence on a case (the bytes are stored under
the data directory by content hash; ``core.services.attachments``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Tenant(Table, tablename="tenant", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class PetitionCase(Table, tablename="petition_case", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-11-29T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case attachments"


def _params(**extra):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


def _fk(table):
    return _params(
        references=table,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


COLUMNS = (
    ("tenant_id", ForeignKey, _fk(Tenant)),
    ("case_id", ForeignKey, _fk(PetitionCase)),
    ("sha256", Varchar, _params(length=64, default="")),
    ("size", Integer, _params(default=0)),
    ("content_type", Varchar, _params(length=63, default="")),
    ("filename", Varchar, _params(length=255, default="")),
    ("uploaded_by", Integer, _params(default=None, null=True)),
    ("uploaded_at", Timestamptz, _params(default=TimestamptzNow())),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_table(
        class_name="CaseAttachment", tablename="case_attachment", schema=None, columns=None
    )
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="CaseAttachment",
            tablename="case_attachment",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
