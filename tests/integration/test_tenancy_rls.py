"""Tenancy is enforced twice: service filters everywhere, and PostgreSQL row-level security
for the app role, so even a raw query without the tenant set sees nothing."""

from __future__ import annotations

from typing import Any

import pytest

from core.db.engine import get_engine, tenant_tx
from core.db.tables import PetitionCase
from tests.integration.test_platform_api import case_body

pytestmark = pytest.mark.asyncio


async def test_raw_query_without_tenant_sees_no_rows(
    backend: Any, rt: Any, client: Any, make_tenant: Any
) -> None:
    if backend.name != "postgres":
        pytest.skip("row-level security exists only on PostgreSQL; SQLite relies on services")
    t = await make_tenant()
    resp = await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    assert resp.status_code == 201
    engine = get_engine()
    # The app's own pool, the app's own role — no set_config: nothing visible.
    for table in ("petition_case", "visitor", "case_event", "staff_user", "api_token"):
        rows = await engine._run_in_pool(f"SELECT count(*) AS n FROM {table}")
        assert rows[0]["n"] == 0, table
    async with tenant_tx(t.id, write=False):
        assert await PetitionCase.count() == 1  # no WHERE: RLS alone scopes it
    other = await make_tenant()
    async with tenant_tx(other.id, write=False):
        assert await PetitionCase.count() == 0
    # Scoped to one tenant, a write into another tenant is refused by the policy.
    with pytest.raises(Exception, match="row-level security"):
        async with tenant_tx(other.id):
            tx = engine.current_transaction.get()
            await tx.connection.execute(
                "INSERT INTO department (tenant_id, code, name, kind, created_at) "
                "VALUES ($1, 'x', 'x', 'office', now())",
                t.id,
            )


async def test_app_role_is_not_owner_nor_superuser(backend: Any, rt: Any) -> None:
    if backend.name != "postgres":
        pytest.skip("PostgreSQL only")
    engine = get_engine()
    rows = await engine._run_in_pool(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert rows[0]["rolsuper"] is False and rows[0]["rolbypassrls"] is False
    owners = await engine._run_in_pool(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname='public' AND tableowner=current_user"
    )
    assert owners[0]["n"] == 0
    # Every table with a tenant_id column — core, daemon and plugin apps alike.
    tenant_tables = await engine._run_in_pool(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r'"
    )
    names = {r["relname"] for r in tenant_tables}
    assert {"petition_case", "visitor", "case_event", "outbox", "case_deadline"} <= names
    unprotected = [
        r["relname"]
        for r in tenant_tables
        if not (r["relrowsecurity"] and r["relforcerowsecurity"])
    ]
    assert unprotected == []


async def test_case_events_are_append_only(
    backend: Any, rt: Any, client: Any, make_tenant: Any
) -> None:
    from core.db.tables import CaseEvent

    t = await make_tenant()
    await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    with pytest.raises(Exception, match=r"append-only|permission denied"):
        async with tenant_tx(t.id):
            await CaseEvent.update({CaseEvent.kind: "tampered"}).where(CaseEvent.tenant_id == t.id)
    with pytest.raises(Exception, match=r"append-only|permission denied"):
        async with tenant_tx(t.id):
            await CaseEvent.delete().where(CaseEvent.tenant_id == t.id)


async def test_personal_data_is_encrypted_at_rest(rt: Any, client: Any, make_tenant: Any) -> None:
    from core.db.tables import Visitor
    from tests.conftest import valid_id_number

    t = await make_tenant()
    await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    async with tenant_tx(t.id, write=False):
        row = await Visitor.select().where(Visitor.tenant_id == t.id).first()
    stored = " ".join(str(v) for v in row.values())
    assert valid_id_number() not in stored and "13812345678" not in stored
    assert "幸福小区" not in (row["address_enc"] or "")
    assert rt.keys.decrypt(row["id_number_enc"], context="visitor.id_number") == valid_id_number()
