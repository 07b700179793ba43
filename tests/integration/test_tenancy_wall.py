"""The tenant wall on SQLite (core/db/tenancy.py): SQLite has no row-level security, so
inside a tenant transaction every statement on a tenant table must name ``tenant_id`` —
Piccolo queries and raw SQL (core/db/sql.py) alike. One that does not is refused
(``XINFANG_TENANCY_CHECK=raise``, what the suite runs with) or logged (``log``, the
default). The scoped queries (``Scope.select/update/delete…``, core/db/scoped.py) always
name it, and see only their tenant's rows; global tables (tenant, calendar) are not
tenant tables and are never flagged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from core.db import sql
from core.db.engine import tenant_tx
from core.db.tables import Department, StaffUser, Tenant, WorkCalendarYear
from core.db.tenancy import UnscopedQuery
from core.schemas import DepartmentIn
from core.services import departments

pytestmark = pytest.mark.asyncio


@pytest.fixture
def sqlite(backend: Any) -> None:
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL has row-level security; the statement check is SQLite's wall")


async def _two_tenants(make_tenant: Any, rt: Any) -> tuple[Any, Any]:
    """Two tenants with the same department codes and usernames, plus a spare department
    each (``temp``) that nothing refers to, so it can be deleted."""
    a, b = await make_tenant(), await make_tenant()
    for t in (a, b):
        d = await departments.create_department(t.scope(rt), DepartmentIn(code="temp", name="临时"))
        t.departments["temp"] = d["id"]
    return a, b


async def test_unscoped_statements_are_refused_in_raise_mode(
    sqlite: None, rt: Any, make_tenant: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("XINFANG_TENANCY_CHECK", "raise")
    a, b = await _two_tenants(make_tenant, rt)
    # (table named in the refusal, a statement on it that never names tenant_id)
    unscoped = [
        (
            "department",
            lambda: Department.select(Department.id).where(Department.code == "petition"),
        ),
        (
            "department",
            lambda: Department.update({Department.name: "改"}).where(Department.code == "petition"),
        ),
        ("department", lambda: Department.delete().where(Department.code == "temp")),
        ("staff_user", lambda: StaffUser.count()),
        ("department", lambda: sql.fetch("SELECT id FROM department WHERE code = $1", "x")),
        (
            "department",
            lambda: sql.execute("UPDATE department SET name = $1 WHERE code = $2", "改", "x"),
        ),
    ]
    for table, query in unscoped:
        with pytest.raises(UnscopedQuery, match=f"query on {table} without tenant_id"):
            async with tenant_tx(a.id):
                await query()
    # Nothing of the refused writes happened, in either tenant.
    for t in (a, b):
        sc = t.scope(rt)
        async with sc.tx(write=False):
            names = await sc.select(Department, Department.code, Department.name)
        assert {r["code"]: r["name"] for r in names}["petition"] == "petition"
        assert "temp" in {r["code"] for r in names}


async def test_unscoped_statements_are_logged_in_log_mode(
    sqlite: None, rt: Any, make_tenant: Any, monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setenv("XINFANG_TENANCY_CHECK", "log")
    a, b = await _two_tenants(make_tenant, rt)
    caplog.set_level(logging.ERROR, logger="core.db.tenancy")
    async with tenant_tx(a.id, write=False):
        rows = await Department.select(Department.id).where(Department.code == "petition")
        raw = await sql.fetch("SELECT id FROM department WHERE code = $1", "petition")
    # Let through — and that is the leak the wall is for: both tenants' rows.
    both = {a.departments["petition"], b.departments["petition"]}
    assert both <= {r["id"] for r in rows}
    assert both <= {r["id"] for r in raw}
    logged = [r.getMessage() for r in caplog.records if r.name == "core.db.tenancy"]
    assert len(logged) == 2, logged
    assert all("query on department without tenant_id" in m for m in logged)
    # The statement text only: the parameters (here a code, elsewhere personal data) never.
    assert all("petition" not in m for m in logged)
    caplog.clear()
    monkeypatch.setenv("XINFANG_TENANCY_CHECK", "off")
    async with tenant_tx(a.id, write=False):
        await Department.select(Department.id)
    assert not [r for r in caplog.records if r.name == "core.db.tenancy"]


async def test_scoped_queries_pass_and_see_only_their_tenant(
    sqlite: None, rt: Any, make_tenant: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("XINFANG_TENANCY_CHECK", "raise")
    a, b = await _two_tenants(make_tenant, rt)
    sa, sb = a.scope(rt), b.scope(rt)
    async with sa.tx():
        seen = await sa.select(Department, Department.id, Department.tenant_id)
        assert {r["tenant_id"] for r in seen} == {a.id}
        assert {r["id"] for r in seen} == set(a.departments.values())
        staff = await sa.objects(StaffUser)
        assert {u.tenant_id for u in staff} == {a.id} and len(staff) == len(a.users)
        assert await sa.count(StaffUser) == len(a.users)
        assert await sa.exists(Department).where(Department.id == a.departments["petition"])
        # Another tenant's row by its id: not there for this scope.
        assert not await sa.exists(Department).where(Department.id == b.departments["petition"])
        await sa.update(Department, {Department.name: "信访室"}).where(
            Department.code == "petition"
        )
        await sa.delete(Department).where(Department.code == "temp")
        raw = await sql.fetch("SELECT id FROM department WHERE tenant_id = $1", a.id)
        assert {r["id"] for r in raw} == {a.departments["petition"], a.departments["handling"]}
    async with sb.tx(write=False):
        theirs = {
            r["code"]: r["name"]
            for r in await sb.select(Department, Department.code, Department.name)
        }
    assert theirs == {"petition": "petition", "handling": "handling", "temp": "临时"}
    async with sa.tx(write=False):
        mine = {
            r["code"]: r["name"]
            for r in await sa.select(Department, Department.code, Department.name)
        }
    assert mine == {"petition": "信访室", "handling": "handling"}


async def test_global_tables_are_not_flagged(
    sqlite: None, rt: Any, make_tenant: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("XINFANG_TENANCY_CHECK", "raise")
    a, b = await _two_tenants(make_tenant, rt)
    async with tenant_tx(a.id, write=False):
        tenants = await Tenant.select(Tenant.id)
        years = await WorkCalendarYear.select(WorkCalendarYear.year)
        raw = await sql.fetch("SELECT id FROM tenant WHERE slug = $1", b.slug)
        days = await sql.fetch("SELECT count(*) AS n FROM work_calendar_day")
    assert {a.id, b.id} <= {r["id"] for r in tenants}
    assert years and raw == [{"id": b.id}] and days[0]["n"] > 0
