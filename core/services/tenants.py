"""Tenants and their plugin enablement (global tables: resolving a request starts here).

Creating, listing and finding a tenant by its slug come before any scope (they take the
runtime); reading a tenant's settings and plugins, and changing them, take its scope."""

from __future__ import annotations

import re
from typing import Any

from core.db.engine import global_tx
from core.db.tables import Tenant, TenantPlugin
from core.errors import Conflict, InvalidInput, NotFound
from core.plugins import TenantInfo
from core.runtime import Runtime
from core.services import audit
from core.services.scope import Scope

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def check_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug or ""):
        raise InvalidInput(
            "invalid_slug",
            "机构标识只能包含小写字母、数字和连字符，且不能以连字符开头或结尾（最长 63 个字符）。",
            field="slug",
        )
    return slug


async def create_tenant(
    rt: Runtime,
    *,
    slug: str,
    name: str,
    rule_pack: str = "cn-2022",
    plugins: list[str] | tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
) -> TenantInfo:
    check_slug(slug)
    if not name.strip():
        raise InvalidInput("name_required", "请填写机构名称。", field="name")
    for plugin in plugins:
        if rt.plugins is not None and not rt.plugins.is_installed(plugin):
            raise InvalidInput(
                "unknown_plugin", f"插件 {plugin} 未安装。", field="plugins", plugin=plugin
            )
    now = rt.clock.now()
    async with global_tx():
        if await Tenant.exists().where(Tenant.slug == slug):
            raise Conflict("tenant_exists", f"机构标识 {slug} 已被使用。", field="slug")
        rows = await Tenant.insert(
            Tenant(
                slug=slug,
                name=name.strip(),
                rule_pack=rule_pack,
                settings=settings or {},
                created_at=now,
            )
        ).returning(Tenant.id)
        tenant_id = rows[0]["id"]
        detail = {"slug": slug, "rule_pack": rule_pack, "plugins": sorted(plugins)}
        await audit.append(
            rt, audit.DEPLOYMENT, "tenant.created", target=f"tenant:{tenant_id}", detail=detail
        )
    scope = Scope.system(rt, tenant_id, slug)
    async with scope.tx():
        await audit.append(
            rt, tenant_id, "tenant.created", target=f"tenant:{tenant_id}", detail=detail
        )
        for plugin in plugins:
            await TenantPlugin.insert(
                TenantPlugin(
                    tenant_id=tenant_id, plugin=plugin, enabled=True, config={}, updated_at=now
                )
            )
            await audit.append(rt, tenant_id, "plugin.enabled", target=f"plugin:{plugin}")
    return await get_tenant(scope)


async def _plugins_of(scope: Scope) -> tuple[frozenset[str], dict[str, dict[str, Any]]]:
    async with scope.tx(write=False):
        rows = await scope.select(
            TenantPlugin, TenantPlugin.plugin, TenantPlugin.enabled, TenantPlugin.config
        ).output(load_json=True)
    enabled = frozenset(r["plugin"] for r in rows if r["enabled"])
    return enabled, {r["plugin"]: r["config"] or {} for r in rows}


def _info(row: dict[str, Any], enabled: frozenset[str], config: dict[str, Any]) -> TenantInfo:
    return TenantInfo(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        rule_pack=row["rule_pack"],
        timezone=row["timezone"],
        settings=row["settings"] or {},
        plugins=enabled,
        plugin_config=config,
    )


async def get_tenant(scope: Scope) -> TenantInfo:
    """The scope's tenant: its settings, rule pack and plugins (enabled, configured)."""
    row = await Tenant.select().where(Tenant.id == scope.tenant_id).output(load_json=True).first()
    if row is None:
        raise NotFound("tenant_not_found", "机构不存在。")
    enabled, config = await _plugins_of(scope)
    return _info(row, enabled, config)


async def get_tenant_by_slug(rt: Runtime, slug: str) -> TenantInfo:
    if not SLUG_RE.fullmatch(slug):  # cannot exist; spares the database odd text
        raise NotFound("tenant_not_found", "机构不存在或已停用。", field="tenant")
    row = (
        await Tenant.select()
        .where(Tenant.slug == slug)
        .where(Tenant.active.eq(True))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("tenant_not_found", "机构不存在或已停用。", field="tenant")
    enabled, config = await _plugins_of(Scope.system(rt, row["id"], row["slug"]))
    return _info(row, enabled, config)


async def list_tenants(rt: Runtime) -> list[dict[str, Any]]:
    return await Tenant.select(Tenant.id, Tenant.slug, Tenant.name, Tenant.rule_pack).order_by(
        Tenant.slug
    )


async def set_plugin(
    scope: Scope,
    plugin: str,
    *,
    enabled: bool,
    config: dict[str, Any] | None = None,
) -> TenantInfo:
    if scope.rt.plugins is not None and not scope.rt.plugins.is_installed(plugin):
        raise InvalidInput("unknown_plugin", f"插件 {plugin} 未安装。", field="plugin")
    rt, tenant_id = scope.rt, scope.tenant_id
    now = rt.clock.now()
    async with scope.tx():
        existing = (
            await scope.select(
                TenantPlugin, TenantPlugin.id, TenantPlugin.enabled, TenantPlugin.config
            )
            .where(TenantPlugin.plugin == plugin)
            .output(load_json=True)
            .first()
        )
        if existing is None:
            await TenantPlugin.insert(
                TenantPlugin(
                    tenant_id=tenant_id,
                    plugin=plugin,
                    enabled=enabled,
                    config=config or {},
                    updated_at=now,
                )
            )
        else:
            values: dict[Any, Any] = {TenantPlugin.enabled: enabled, TenantPlugin.updated_at: now}
            if config is not None:
                values[TenantPlugin.config] = config
            await scope.update(TenantPlugin, values).where(TenantPlugin.id == existing["id"])
        if enabled != bool(existing and existing["enabled"]):
            action = "plugin.enabled" if enabled else "plugin.disabled"
            await audit.append(rt, tenant_id, action, target=f"plugin:{plugin}")
        if config is not None and (existing is None or existing["config"] != config):
            # Setting names only: values may be credentials (webhook secrets, SMTP…).
            old = (existing or {}).get("config") or {}
            changed = {k for k in {*config, *old} if config.get(k) != old.get(k)}
            await audit.append(
                rt,
                tenant_id,
                "plugin.settings_changed",
                target=f"plugin:{plugin}",
                detail={"keys": sorted(changed)},
            )
    return await get_tenant(scope)
