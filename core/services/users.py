"""Staff accounts, login and API tokens.

Login and token authentication come before any scope (they find who acts); everything
else takes the scope of the tenant whose accounts it reads or changes."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from core import security
from core.db.tables import ApiToken, Department, StaffUser
from core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from core.plugins import TenantInfo
from core.principal import ROLES, Principal
from core.runtime import Runtime
from core.security import Keys
from core.services import audit, login_throttle, logins
from core.services.answers import NewToken, TokenListItem, TokenOut, UnlockedUser, UserOut
from core.services.scope import Scope
from core.services.tenants import get_tenant, get_tenant_by_slug
from core.services.visibility import staff_refs

TOKEN_PREFIX = "xf"
# Updating last_used_at on every request would turn reads into writes.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


_DUMMY: list[str] = []


async def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(await security.hash_password_off_loop("xinfang-timing-equalizer"))
    return _DUMMY[0]


KEEP: Any = object()
"""``update_user``: leave the value as it is (``None`` is a value: no department)."""


def _check_roles(roles: list[str]) -> list[str]:
    if not roles:
        raise InvalidInput("roles_required", "至少需要一个角色。", field="roles")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(
            "unknown_role",
            f"未知角色：{', '.join(unknown)}；可选：{', '.join(ROLES)}。",
            field="roles",
        )
    return sorted(set(roles))


def user_out(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        # INSERT … RETURNING has no load_json in Piccolo: JSON arrives as text there.
        roles=json.loads(row["roles"]) if isinstance(row["roles"], str) else row["roles"],
        department_id=row["department_id"],
        title=row["title"],
        active=row["active"],
    )


async def create_user(
    scope: Scope,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    department_id: int | None = None,
    title: str = "",
    email: str = "",
    active: bool = True,
) -> UserOut:
    """``active=False`` makes a service account that acts for the system but can
    never log in or hold a token."""
    rt, tenant_id = scope.rt, scope.tenant_id
    roles = _check_roles(roles)
    security.check_password_policy(password)
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidInput(
            "invalid_username", "用户名只能包含字母、数字、点、下划线和连字符。", field="username"
        )
    password_hash = await security.hash_password_off_loop(password)
    async with scope.tx():
        if department_id is not None and not await scope.exists(Department).where(
            Department.id == department_id
        ):
            raise InvalidInput("unknown_department", "所选部门不存在。", field="department_id")
        if await scope.exists(StaffUser).where(StaffUser.username == username):
            raise Conflict("username_taken", f"用户名 {username} 已存在。", field="username")
        rows = await StaffUser.insert(
            StaffUser(
                tenant_id=tenant_id,
                username=username,
                display_name=display_name or username,
                password_hash=password_hash,
                roles=roles,
                department_id=department_id,
                title=title,
                email=email,
                active=active,
                created_at=rt.clock.now(),
            )
        ).returning(*StaffUser.all_columns())
        await audit.append(
            rt,
            tenant_id,
            "user.created",
            target=f"user:{rows[0]['id']}",
            detail={
                "username": username,
                "roles": roles,
                "department_id": department_id,
                "active": active,
            },
        )
    return user_out(rows[0])


async def list_users(scope: Scope) -> list[UserOut]:
    async with scope.tx(write=False):
        rows = await scope.select(StaffUser).order_by(StaffUser.id).output(load_json=True)
    return [user_out(r) for r in rows]


async def _user_row(scope: Scope, user_id: int) -> dict[str, Any] | None:
    """One staff row (call inside a tenant transaction)."""
    row: dict[str, Any] | None = (
        await scope.select(StaffUser).where(StaffUser.id == user_id).output(load_json=True).first()
    )
    return row


async def get_user(scope: Scope, user_id: int) -> UserOut:
    async with scope.tx(write=False):
        row = await _user_row(scope, user_id)
    if row is None:
        raise NotFound("user_not_found", "用户不存在。")
    return user_out(row)


def principal_from_row(keys: Keys, tenant_slug: str, row: Mapping[str, Any]) -> Principal:
    """A staff row as the Principal the web builds for it — also for the daemon, which
    must judge what a recipient may hear about exactly as the case page does."""
    roles = row["roles"]
    if isinstance(roles, str):  # raw SQL rows carry JSON text
        roles = json.loads(roles)
    return Principal(
        tenant_id=row["tenant_id"],
        tenant_slug=tenant_slug,
        user_id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=frozenset(roles or []),
        department_id=row["department_id"],
        refs=staff_refs(keys, row["username"], row["title"] or ""),
    )


def _principal(rt: Runtime, tenant_slug: str, row: dict[str, Any]) -> Principal:
    return principal_from_row(rt.keys, tenant_slug, row)


async def login(
    rt: Runtime, tenant_slug: str, username: str, password: str, *, address: str | None = None
) -> Principal:
    """Check a staff password, throttled per account and per client ``address``
    (``core.services.login_throttle``): too many failures answer ``TooManyRequests``
    before the password is looked at."""
    with security.login_slot():  # a flood fills them: "busy" at once, nothing counted
        attempt = await login_throttle.begin(rt, tenant_slug, username, address)
        try:
            principal = await _check_password(rt, tenant_slug, username, password)
        except NotAuthenticated:
            raise  # a failure: it stays counted
        except Exception:
            await login_throttle.take_back(rt, attempt)
            raise
        await login_throttle.succeeded(rt, attempt)
    return principal


async def _check_password(rt: Runtime, tenant_slug: str, username: str, password: str) -> Principal:
    bad = NotAuthenticated("invalid_credentials", "机构、用户名或密码不正确。")
    try:
        tenant = await get_tenant_by_slug(rt, tenant_slug)
    except NotFound:
        await _audit_login(rt, audit.DEPLOYMENT, None, "unknown_tenant")
        raise bad from None
    scope = Scope.system(rt, tenant.id, tenant.slug)
    async with scope.tx(write=False):
        row = (
            await scope.select(StaffUser)
            .where(StaffUser.username == username)
            .output(load_json=True)
            .first()
        )
    if row is None or not row["active"]:
        # Same timing as a real check.
        await security.verify_password_off_loop(await _dummy_hash(), password)
        await _audit_login(rt, tenant.id, row, "unknown_user" if row is None else "inactive")
        raise bad
    if not await security.verify_password_off_loop(row["password_hash"], password):
        await _audit_login(rt, tenant.id, row, "wrong_password")
        raise bad
    await _audit_login(rt, tenant.id, row, None)
    return _principal(rt, tenant.slug, row)


async def _audit_login(
    rt: Runtime, tenant_id: int, row: dict[str, Any] | None, failure: str | None
) -> None:
    """A login attempt in the tenant's chain (the deployment's for an unknown
    organization). The typed name is kept only when it is a real account: a password
    typed into the name field must never reach the log."""
    await audit.append(
        rt,
        tenant_id,
        "login.failure" if failure else "login.success",
        actor_id=row["id"] if row else None,
        actor=row["username"] if row else "anonymous",
        target=f"user:{row['id']}" if row else "",
        detail={"reason": failure} if failure else {},
    )


async def unlock_login(scope: Scope, user_id: int) -> UnlockedUser:
    """An admin lifts the lock after too many failed logins (and clears the count)."""
    async with scope.tx(write=False):
        row = await _user_row(scope, user_id)
    if row is None:
        raise NotFound("user_not_found", "用户不存在。")
    was_locked = await login_throttle.unlock(scope, row["username"])
    return UnlockedUser(**msgspec.structs.asdict(user_out(row)), was_locked=was_locked)


async def user_id_of(scope: Scope, username: str) -> int:
    async with scope.tx(write=False):
        row = (
            await scope.select(StaffUser, StaffUser.id)
            .where(StaffUser.username == username)
            .first()
        )
    if row is None:
        raise NotFound("user_not_found", f"用户 {username} 不存在。", field="username")
    return int(row["id"])


async def principal_for(scope: Scope, user_id: int) -> Principal:
    """Reload the user on each request so deactivation and role changes apply at once
    (``scope``: the tenant the session names, no one acting yet)."""
    async with scope.tx(write=False):
        row = await _user_row(scope, user_id)
    if row is None or not row["active"]:
        raise NotAuthenticated("session_invalid", "登录已失效，请重新登录。")
    return _principal(scope.rt, scope.tenant_slug, row)


def max_token_days(scope: Scope, tenant: TenantInfo) -> int:
    """The longest lifetime a token of this tenant may have (days)."""
    value = (tenant.settings or {}).get("token_max_ttl_days")
    return value if type(value) is int and value >= 1 else scope.rt.settings.token_max_ttl_days


async def create_token(
    scope: Scope, user_id: int, *, name: str, ttl_days: int | None = None
) -> NewToken:
    """The new token (shown once) and its stored description for ``user_id`` (a user
    of the scope's tenant). Every token expires: ``ttl_days=None`` means the tenant's
    maximum, more than that is refused."""
    rt, tenant_id, tenant_slug = scope.rt, scope.tenant_id, scope.tenant_slug
    limit = max_token_days(scope, await get_tenant(scope))
    if ttl_days is None:
        ttl_days = limit
    if not 1 <= ttl_days <= limit:
        raise InvalidInput(
            "ttl_too_long", f"令牌有效期应为 1 至 {limit} 天。", field="ttl_days", max_days=limit
        )
    secret = security.new_token(prefix="")
    token = f"{TOKEN_PREFIX}.{tenant_slug}.{secret}"
    now = rt.clock.now()
    expires = now + timedelta(days=ttl_days)
    async with scope.tx():
        if not await scope.exists(StaffUser).where(StaffUser.id == user_id):
            raise NotFound("user_not_found", "用户不存在。")
        rows = await ApiToken.insert(
            ApiToken(
                tenant_id=tenant_id,
                user_id=user_id,
                name=name or "api",
                token_hash=security.hash_token(token),
                prefix=secret[:8],
                created_at=now,
                expires_at=expires,
            )
        ).returning(ApiToken.id)
        await audit.append(
            rt,
            tenant_id,
            "token.created",
            target=f"token:{rows[0]['id']}",
            detail={"user_id": user_id, "name": name or "api", "ttl_days": ttl_days},
        )
    return NewToken(token=token, id=rows[0]["id"], name=name, expires_at=expires)


TOKEN_COLUMNS = (
    ApiToken.id,
    ApiToken.user_id,
    ApiToken.name,
    ApiToken.prefix,
    ApiToken.created_at,
    ApiToken.expires_at,
    ApiToken.last_used_at,
    ApiToken.revoked_at,
)


async def list_tokens(scope: Scope, user_id: int | None = None) -> list[TokenListItem]:
    """Tokens of the tenant (or of one user), newest first; never the secret or its hash."""
    query = scope.select(ApiToken, *TOKEN_COLUMNS, ApiToken.user_id.username.as_alias("username"))
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    async with scope.tx(write=False):
        rows = await query.order_by(ApiToken.id, ascending=False)
    return [TokenListItem(**r) for r in rows]


async def revoke_token(scope: Scope, token_id: int, *, user_id: int | None = None) -> TokenOut:
    """Revoke one token of the tenant (of ``user_id`` only, when given). Idempotent."""
    where: Any = ApiToken.id == token_id
    if user_id is not None:
        where &= ApiToken.user_id == user_id
    async with scope.tx():
        row = await scope.select(ApiToken, *TOKEN_COLUMNS).where(where).first()
        if row is None:
            raise NotFound("token_not_found", "令牌不存在。")
        if row["revoked_at"] is None:
            row["revoked_at"] = scope.rt.clock.now()
            await scope.update(ApiToken, {ApiToken.revoked_at: row["revoked_at"]}).where(where)
            await audit.append(
                scope.rt,
                scope.tenant_id,
                "token.revoked",
                target=f"token:{token_id}",
                detail={"user_id": row["user_id"]},
            )
    return TokenOut(**row)


async def set_active(scope: Scope, user_id: int, active: bool) -> UserOut:
    """Deactivate (or reactivate) an account. Deactivation ends its sessions; its API
    tokens and iCal feed stop answering while it is inactive. Nobody deactivates
    themselves (a system scope, the command line, acts for no account)."""
    from core.services.open311 import SERVICE_USERNAME

    if not active and scope.user_id == user_id:
        raise Conflict("cannot_deactivate_self", "不能停用自己的账号。")
    async with scope.tx():
        row = await _user_row(scope, user_id)
        if row is None:
            raise NotFound("user_not_found", "用户不存在。")
        if active and row["username"] == SERVICE_USERNAME:
            raise Conflict("service_account", "系统服务账号不能登录，不能启用。")
        if row["active"] != active:
            await scope.update(StaffUser, {StaffUser.active: active}).where(StaffUser.id == user_id)
            row["active"] = active
            await audit.append(
                scope.rt,
                scope.tenant_id,
                "user.activated" if active else "user.deactivated",
                target=f"user:{user_id}",
            )
    if not active:
        await logins.revoke_user(scope, user_id)
    return user_out(row)


async def update_user(
    scope: Scope, user_id: int, *, roles: list[str] | None = None, department_id: Any = KEEP
) -> UserOut:
    """Change an account's roles and/or department (``KEEP``: leave it; ``None``: no
    department); both apply at its next request, which reloads the principal. Nobody
    takes the admin role from themselves; the Open311 service account stays as it is."""
    from core.services.open311 import SERVICE_USERNAME

    new = {"roles": _check_roles(roles) if roles is not None else KEEP, "department": department_id}
    if new["roles"] is not KEEP and "admin" not in new["roles"] and scope.user_id == user_id:
        raise Conflict("cannot_demote_self", "不能取消自己的系统管理员角色。", field="roles")
    async with scope.tx():
        row = await _user_row(scope, user_id)
        if row is None:
            raise NotFound("user_not_found", "用户不存在。")
        if row["username"] == SERVICE_USERNAME:
            raise Conflict("service_account", "系统服务账号的角色和部门不能修改。")
        if department_id not in (KEEP, None, row["department_id"]) and not await scope.exists(
            Department
        ).where(Department.id == department_id):
            raise InvalidInput("unknown_department", "所选部门不存在。", field="department_id")
        old = {"roles": sorted(row["roles"] or []), "department": row["department_id"]}
        column = {"roles": StaffUser.roles, "department": StaffUser.department_id}
        for what in ("roles", "department"):
            if new[what] is KEEP or new[what] == old[what]:
                continue
            await scope.update(StaffUser, {column[what]: new[what]}).where(StaffUser.id == user_id)
            row[column[what]._meta.name] = new[what]
            await audit.append(
                scope.rt, scope.tenant_id, f"user.{what}_changed", target=f"user:{user_id}",
                detail={"from": old[what], "to": new[what]},
            )  # fmt: skip
    return user_out(row)


async def change_password(
    scope: Scope, current: str, new: str, *, keep_session: str | None = None
) -> int:
    """The acting person changes their own password; ends their other sessions
    (returns how many)."""
    user_id = scope.actor.user_id
    async with scope.tx(write=False):
        row = await _user_row(scope, user_id)
    if row is None or not row["active"]:
        raise NotFound("user_not_found", "用户不存在。")
    if not security.verify_password(row["password_hash"], current):
        raise InvalidInput("wrong_password", "当前密码不正确。", field="current_password")
    if new == current:
        raise InvalidInput("password_unchanged", "新密码不能与当前密码相同。", field="new_password")
    security.check_password_policy(new, field="new_password")
    password_hash = security.hash_password(new)
    async with scope.tx():
        await scope.update(StaffUser, {StaffUser.password_hash: password_hash}).where(
            StaffUser.id == user_id
        )
        await audit.append(
            scope.rt, scope.tenant_id, "user.password_changed", target=f"user:{user_id}"
        )
    return await logins.revoke_user(scope, user_id, keep=keep_session)


async def authenticate_token(rt: Runtime, token: str) -> Principal:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise NotAuthenticated("token_invalid", "API 令牌无效。")
    try:
        tenant = await get_tenant_by_slug(rt, parts[1])
    except NotFound:
        raise NotAuthenticated("token_invalid", "API 令牌无效。") from None
    now = rt.clock.now()
    scope = Scope.system(rt, tenant.id, tenant.slug)
    async with scope.tx(write=False):
        tok = (
            await scope.select(ApiToken)
            .where(ApiToken.token_hash == security.hash_token(token))
            .output(load_json=True)
            .first()
        )
        if tok is None:
            raise NotAuthenticated("token_invalid", "API 令牌无效。")
        if tok["revoked_at"] is not None:
            raise NotAuthenticated("token_revoked", "API 令牌已被吊销，请重新申请。")
        # Tokens stored without an expiry (before every token had one) end at the maximum.
        expires = tok["expires_at"] or tok["created_at"] + timedelta(
            days=max_token_days(scope, tenant)
        )
        if expires <= now:
            raise NotAuthenticated("token_expired", "API 令牌已过期，请重新申请。")
        user = await _user_row(scope, tok["user_id"])
    if user is None or not user["active"]:
        raise NotAuthenticated("token_invalid", "API 令牌无效。")
    last: datetime | None = tok["last_used_at"]
    if last is None or now - last > TOKEN_TOUCH_INTERVAL:
        async with scope.tx():
            await scope.update(ApiToken, {ApiToken.last_used_at: now}).where(
                ApiToken.id == tok["id"]
            )
    return _principal(rt, tenant.slug, user)


async def service_account(scope: Scope, username: str, display_name: str) -> Principal:
    """The tenant's service identity ``username`` (made on first use, inactive: it
    registers matters that arrive without a person at the desk — Open311, the online
    form — and never logs in), as the acting principal of a clerk."""
    async with scope.tx(write=False):
        row = (
            await scope.select(StaffUser, StaffUser.id)
            .where(StaffUser.username == username)
            .first()
        )
    if row is None:
        user = await create_user(
            scope,
            username=username,
            display_name=display_name,
            password=secrets.token_urlsafe(32),
            roles=["clerk"],
            active=False,
        )
        row = {"id": user.id}
    return Principal(
        tenant_id=scope.tenant_id,
        tenant_slug=scope.tenant_slug,
        user_id=row["id"],
        username=username,
        display_name=display_name,
        roles=frozenset({"clerk"}),
    )
