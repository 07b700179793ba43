"""case_transfer: the contact copy a cross-tenant transfer brings (security finding 2).

The sender's phone/address travel encrypted on the receiver's ``in`` row instead of being
written into the receiver's person record; the receiver adopts them by its own step
(``adopt_contact``). Existing rows get no copy (``contact_state`` '').
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-29T16:20:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "case transfer contact copy"


def _params(**extra):
    return {
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


COLUMNS = (
    ("phone_enc", Text, {"default": None, "null": True}),
    ("phone_masked", Varchar, {"length": 32, "default": "", "null": False}),
    ("address_enc", Text, {"default": None, "null": True}),
    ("address_masked", Varchar, {"length": 200, "default": "", "null": False}),
    ("contact_state", Varchar, {"length": 16, "default": "", "null": False}),
    ("contact_decided_at", Timestamptz, {"default": None, "null": True}),
    ("contact_decided_by", Integer, {"default": None, "null": True}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="CaseTransfer",
            tablename="case_transfer",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=_params(**params),
            schema=None,
        )
    return manager
