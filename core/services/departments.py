"""Departments (部门/科室/庭/所队) inside a tenant."""

from __future__ import annotations

from typing import Any

from core.db.tables import Department
from core.errors import Conflict, InvalidInput, NotFound
from core.schemas import DepartmentIn
from core.services import audit
from core.services.scope import Scope

COLUMNS = (Department.id, Department.code, Department.name, Department.kind, Department.parent_id)


async def create_department(scope: Scope, data: DepartmentIn) -> dict[str, Any]:
    async with scope.tx():
        if await scope.exists(Department).where(Department.code == data.code):
            raise Conflict("department_exists", f"部门代码 {data.code} 已存在。", field="code")
        if data.parent_id is not None and not await scope.exists(Department).where(
            Department.id == data.parent_id
        ):
            raise InvalidInput("unknown_department", "上级部门不存在。", field="parent_id")
        rows = await Department.insert(
            Department(
                tenant_id=scope.tenant_id,
                code=data.code,
                name=data.name,
                kind=data.kind,
                parent_id=data.parent_id,
                created_at=scope.rt.clock.now(),
            )
        ).returning(*COLUMNS)
        await audit.append(
            scope.rt,
            scope.tenant_id,
            "department.created",
            target=f"department:{rows[0]['id']}",
            detail={"code": data.code, "kind": data.kind, "parent_id": data.parent_id},
        )
    return rows[0]


async def list_departments(scope: Scope) -> list[dict[str, Any]]:
    async with scope.tx(write=False):
        return await scope.select(Department, *COLUMNS).order_by(Department.id)


async def get_department(scope: Scope, department_id: int) -> dict[str, Any]:
    async with scope.tx(write=False):
        row = (
            await scope.select(Department, *COLUMNS)
            .where(Department.id == department_id)
            .output(load_json=True)
            .first()
        )
    if row is None:
        raise NotFound("department_not_found", "部门不存在。")
    return row


async def department_by_code(scope: Scope, code: str) -> dict[str, Any] | None:
    async with scope.tx(write=False):
        return (
            await scope.select(Department, *COLUMNS)
            .where(Department.code == code)
            .output(load_json=True)
            .first()
        )
