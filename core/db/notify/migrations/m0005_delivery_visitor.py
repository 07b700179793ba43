"""notify_delivery.visitor_id: a delivery to a petitioner (信访人) rather than a staff
member — an SMS telling them their receipt code, acceptance or result. The phone is not
copied here: the deliverer decrypts it from ``visitor`` at send time. Staff deliveries
keep ``visitor_id`` NULL; petitioner deliveries have ``user_id`` 0."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "delivery to a petitioner"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notify", description=DESCRIPTION)
    manager.add_column(
        table_class_name="NotifyDelivery",
        tablename="notify_delivery",
        column_name="visitor_id",
        db_column_name="visitor_id",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
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
