"""Tenant-leading keys and row-level security for ``inbox_message_case``, then fill it
for the messages delivered before it existed (from each message's outbox payload and
link, by the same contract delivery uses: ``core.domain.notices.cases_of``)."""

from typing import Any

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


async def backfill_case_refs(tenant_id: int) -> int:
    """Link messages delivered before ``inbox_message_case`` existed to their cases
    (outbox payload and message link); idempotent. Inside a transaction scoped to the
    tenant. Returns the number of links written."""
    from core.db import sql
    from core.domain.notices import cases_of, load_payload

    about: list[tuple[Any, ...]] = []
    async for rows in sql.stream(
        "SELECT m.id, m.outbox_id, m.link, o.payload FROM inbox_message m"
        " LEFT JOIN outbox o ON o.tenant_id = m.tenant_id AND o.id = m.outbox_id"
        " WHERE m.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM inbox_message_case c"
        " WHERE c.tenant_id = m.tenant_id AND c.message_id = m.id) ORDER BY m.id",
        tenant_id,
    ):
        for r in rows:
            found = cases_of(load_payload(r["payload"])) | cases_of({"link": r["link"]})
            about.extend((tenant_id, r["id"], c) for c in sorted(found))
    await sql.executemany(
        "INSERT INTO inbox_message_case (tenant_id, message_id, case_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id, message_id, case_id) DO NOTHING",
        about,
    )
    return len(about)


async def _backfill():
    from core.db import sql
    from core.db.engine import switch_tenant

    # Inside the migration's transaction: scope it to each tenant in turn, so row-level
    # security holds for an owner role that does not bypass it.
    for row in await sql.fetch("SELECT id FROM tenant ORDER BY id"):
        await switch_tenant(row["id"])
        await backfill_case_refs(row["id"])


async def forwards():
    manager = await _tenancy()
    manager.add_raw(_backfill)
    return manager
