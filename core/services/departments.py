"""Departments (部门/科室/庭/所队) inside a tenant."""

from __future__ import annotations

from typing import Any

from core.db.engine import tenant_tx
from core.db.tables import Department
from core.errors import Conflict, InvalidInput, NotFound
from core.runtime import Runtime
from core.schemas import DepartmentIn
from core.services import audit

COLUMNS = (Department.id, Department.code, Department.name, Department.kind, Department.parent_id)


async def create_department(rt: Runtime, tenant_id: int, data: DepartmentIn) -> dict[str, Any]:
    async with tenant_tx(tenant_id):
        if await Department.exists().where(
            (Department.tenant_id == tenant_id) & (Department.code == data.code)
        ):
            raise Conflict("department_exists", f"部门代码 {data.code} 已存在。", field="code")
        if data.parent_id is not None and not await Department.exists().where(
            (Department.tenant_id == tenant_id) & (Department.id == data.parent_id)
        ):
            raise InvalidInput("unknown_department", "上级部门不存在。", field="parent_id")
        rows = await Department.insert(
            Department(
                tenant_id=tenant_id,
                code=data.code,
                name=data.name,
                kind=data.kind,
                parent_id=data.parent_id,
                created_at=rt.clock.now(),
            )
        ).returning(*COLUMNS)
        await audit.append(
            rt,
            tenant_id,
            "department.created",
            target=f"department:{rows[0]['id']}",
            detail={"code": data.code, "kind": data.kind, "parent_id": data.parent_id},
        )
    return rows[0]


async def list_departments(rt: Runtime, tenant_id: int) -> list[dict[str, Any]]:
    async with tenant_tx(tenant_id, write=False):
        return (
            await Department.select(*COLUMNS)
            .where(Department.tenant_id == tenant_id)
            .order_by(Department.id)
        )


async def get_department(rt: Runtime, tenant_id: int, department_id: int) -> dict[str, Any]:
    async with tenant_tx(tenant_id, write=False):
        row = (
            await Department.select(*COLUMNS)
            .where((Department.tenant_id == tenant_id) & (Department.id == department_id))
            .output(load_json=True)
            .first()
        )
    if row is None:
        raise NotFound("department_not_found", "部门不存在。")
    return row


async def department_by_code(tenant_id: int, code: str) -> dict[str, Any] | None:
    async with tenant_tx(tenant_id, write=False):
        return (
            await Department.select(*COLUMNS)
            .where((Department.tenant_id == tenant_id) & (Department.code == code))
            .output(load_json=True)
            .first()
        )
