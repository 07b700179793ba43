"""Tenant-leading keys and row-level security for ``inbox_message_case``, then fill it
for the messages delivered before it existed (from each message's outbox payload and
link, by the same contract delivery uses: ``daemon.notify.privacy.cases_of``)."""

from core.db.rls import tenancy_migration

ID = "2026-11-29T16:20:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox message cases: keys, row level security, backfill"

INDEXES = (
    "CREATE UNIQUE INDEX ux_inbox_message_case"
    " ON inbox_message_case (tenant_id, message_id, case_id)",
    "CREATE INDEX ix_inbox_message_case_case ON inbox_message_case (tenant_id, case_id)",
)

_tenancy = tenancy_migration(ID, "notify", DESCRIPTION, ("inbox_message_case",), INDEXES)


async def _backfill():
    from core.db.engine import switch_tenant
    from daemon.notify import sql
    from daemon.notify.deliver import backfill_case_refs

    # Inside the migration's transaction: scope it to each tenant in turn, so row-level
    # security holds for an owner role that does not bypass it.
    for row in await sql.fetch("SELECT id FROM tenant ORDER BY id"):
        await switch_tenant(row["id"])
        await backfill_case_refs(row["id"])


async def forwards():
    manager = await _tenancy()
    manager.add_raw(_backfill)
    return manager
