"""inbox_message_case: the cases an inbox message is about, so the inbox can hide a
delivered message once its reader is excluded from one of them (检举控告)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial
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


ID = "2026-11-29T16:20:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox message cases"


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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notify", description=DESCRIPTION)
    manager.add_table(
        class_name="InboxMessageCase", tablename="inbox_message_case", schema=None, columns=None
    )
    manager.add_column(
        table_class_name="InboxMessageCase",
        tablename="inbox_message_case",
        column_name="tenant_id",
        db_column_name="tenant_id",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(
            references=Tenant,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
        ),
        schema=None,
    )
    for name in ("message_id", "case_id"):
        manager.add_column(
            table_class_name="InboxMessageCase",
            tablename="inbox_message_case",
            column_name=name,
            db_column_name=name,
            column_class_name="Integer",
            column_class=Integer,
            params=_params(default=0),
            schema=None,
        )
    return manager
