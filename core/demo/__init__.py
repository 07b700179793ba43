"""Demo data (``xinfang demo``, ``make run``): four organizations, one per sector, with
staff, matters in several states of handling, a published reception rota and an
Open311 key each.

``people`` is the invented world, ``cases`` registers its matters, ``lifecycle``
moves them along."""

from __future__ import annotations

from typing import Any

from core.demo.cases import register_demo_cases
from core.demo.lifecycle import advance
from core.demo.people import CAUSES, DEMO_PASSWORD, PEOPLE, STAFF, TENANTS, demo_id_number
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import DepartmentIn
from core.services import departments, open311, rota, tenants, users
from core.services.scope import Scope

__all__ = [
    "CAUSES",
    "DEMO_PASSWORD",
    "PEOPLE",
    "STAFF",
    "TENANTS",
    "demo_id_number",
    "load_demo",
]


async def load_demo(rt: Runtime, *, if_empty: bool = False) -> str:
    existing = {t["slug"] for t in await tenants.list_tenants(rt)}
    if if_empty and existing:
        return "已有数据，跳过演示数据加载。"
    lines = [f"演示机构与登录账号（密码均为 {DEMO_PASSWORD}）："]
    for spec in TENANTS:
        if spec["slug"] in existing:
            lines.append(f"  {spec['slug']}: 已存在，跳过")
            continue
        plugins = [p for p in spec["plugins"] if rt.plugins is None or rt.plugins.is_installed(p)]
        tenant = await tenants.create_tenant(
            rt, slug=spec["slug"], name=spec["name"], plugins=plugins
        )
        sc = Scope.system(rt, tenant.id, tenant.slug)
        dept_ids = {}
        for code, name, kind in spec["departments"]:
            dept = await departments.create_department(
                sc, DepartmentIn(code=code, name=name, kind=kind)
            )
            dept_ids[code] = dept["id"]
        staff: dict[str, dict[str, Any]] = {}
        first_dept = next(iter(dept_ids.values()))
        for username, display, roles, dept_code in STAFF:
            staff[username] = await users.create_user(
                sc,
                username=username,
                display_name=display,
                password=DEMO_PASSWORD,
                roles=roles,
                department_id=dept_ids.get(dept_code or "", first_dept),
            )
        clerk = Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            user_id=staff["clerk"]["id"],
            username="clerk",
            display_name="王接待",
            roles=frozenset({"clerk"}),
            department_id=None,
        )
        await register_demo_cases(sc, clerk, spec, dept_ids)
        await advance(sc)  # cases in several states
        await rota.install_demo_rota(  # reception-day rota, published (core/services/rota/)
            sc,
            staff["admin"]["id"],
            [staff["leader1"]["id"], staff["leader2"]["id"]],
        )
        lines.append(
            f"  {spec['slug']}（{spec['name']}）："
            + "、".join(f"{u}（{'/'.join(r)}）" for u, _, r, _ in STAFF)
        )
        key = await open311.create_key(sc)
        lines.append(
            f"    Open311：{rt.settings.base_url.rstrip('/')}/open311/{tenant.slug}/v2/"
            f"services.json  API key：{key}"
        )
    return "\n".join(lines)
