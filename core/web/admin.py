"""The tenant's administration in the browser (``/admin``, admins only): the overview,
staff accounts, departments and the tenant's settings here; plugins, the work calendar,
the Open311 key and the audit log in ``core.web.admin_ops``.

Plain HTML forms with the CSRF token, handled by the same services as the JSON API
(``/api/v1/users``, ``/departments``, ``/tenant/settings``): a refusal shows the form
again with what was typed and the message at its field (422, or 409 for a clash),
nothing saved; a success answers 303 back to the page, which says what was done.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from msgspec import UnsetType

from core.errors import Conflict, InvalidInput
from core.principal import ROLES
from core.schemas import DepartmentIn, Id, UserIn, UserUpdateIn
from core.services import departments, login_throttle, open311, plugin_admin, users
from core.services.scope import Scope
from core.services.tenant_settings import TenantSettingsIn, get_settings, update_settings
from core.validation import convert
from core.web.admin_ops import OPS
from core.web.adminform import Refusal, form_body, refusal
from core.web.adminpage import NO_REFUSAL, Req, chrome, page, posted, typed_values
from core.web.auth import CallerScope, requires_admin

Notice = Annotated[str | None, Parameter(max_length=40)]
Created = Annotated[Id | None, Parameter()]

USER_LABELS = {
    "username": "用户名",
    "display_name": "姓名",
    "password": "初始密码",
    "roles": "角色",
    "department_id": "部门",
    "title": "职务或警号",
    "email": "电子邮箱",
}
DEPARTMENT_LABELS = {
    "code": "部门代码",
    "name": "部门名称",
    "kind": "类型",
    "parent_id": "上级部门",
}
KIND_ZH = {
    "office": "科室",
    "division": "处室",
    "tribunal": "审判庭",
    "station": "派出所",
    "branch": "分支机构",
    "bureau": "局",
    "team": "队",
}
REMINDER_LABELS = {
    "reminders.approach_days": "到期前几个工作日开始提醒",
    "reminders.escalate_after": "逾期几个工作日后督办",
    "reminders.transfer_warn_days": "转送异议期满前几个工作日提醒",
    "reminders.extension_escalate_after": "延期申请待批几个工作日后再提醒",
    "reminders.screening": "提醒报送矛盾纠纷排查表",
    "reminders.screening_day": "排查表每月报送日",
    "reminders.screening_lead": "报送日前几个工作日提醒",
    "reminders.digest": "每日摘要",
    "reminders.digest_hour": "每日摘要发送时间（时）",
}
SETTINGS_LABELS = {
    "name": "机构名称",
    "rule_pack": "规则包",
    "token_max_ttl_days": "API 令牌最长有效期（天）",
    "repeat_window_days": "重复信访认定期间（天）",
    "veteran_threshold": "上访老户认定次数",
    "attachment_max_mb": "附件大小上限（MB）",
    **REMINDER_LABELS,
}
CHECKS = ("reminders.screening", "reminders.digest")
DONE = {
    "saved": "已保存。",
    "deactivated": "已停用该账号，其登录会话已全部结束。",
    "activated": "已启用该账号。",
    "unlocked": "已解除登录锁定。",
    "not_locked": "该账号未被锁定，已清零失败次数。",
}


def _done(notice: str | None) -> str | None:
    return DONE.get(notice or "")


# --- overview ----------------------------------------------------------------------------


@get("/admin", include_in_schema=False, guards=[requires_admin])
async def overview(sc: CallerScope) -> Template:
    frame = await chrome(sc, "/admin")
    people = await users.list_users(sc)
    plugins = await plugin_admin.list_plugins(sc)
    return page(
        "index",
        frame,
        people=people,
        active=sum(1 for u in people if u.active),
        departments=await departments.list_departments(sc),
        plugins=plugins,
        settings=await get_settings(sc),
        open311_key=await open311.has_key(sc),
    )


# --- users -------------------------------------------------------------------------------


async def _department_options(sc: Scope) -> list[tuple[str, str]]:
    return [(str(d.id), d.name) for d in await departments.list_departments(sc)]


async def _users(
    sc: Scope,
    values: dict[str, Any],
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    notice: str | None = None,
    created: int | None = None,
) -> Template:
    people = await users.list_users(sc)
    names = await login_throttle.locked_of(sc, [u.username for u in people])
    locked = {u.id for u in people if u.username in names}
    options = await _department_options(sc)
    return page(
        "users",
        await chrome(sc, "/admin/users"),
        refused=refused,
        status=status,
        people=people,
        locked=locked,
        service_account=open311.SERVICE_USERNAME,
        department_options=options,
        department_zh=dict(options),
        all_roles=ROLES,
        values={"roles": [], **values},
        notice=notice,
        created=created,
    )


@get("/admin/users", include_in_schema=False, guards=[requires_admin])
async def users_page(sc: CallerScope, created: Created = None) -> Template:
    notice = "已创建用户，可以用初始密码登录。" if created else None
    return await _users(sc, {}, notice=notice, created=created)


@post("/admin/users", include_in_schema=False, guards=[requires_admin], status_code=200)
async def create_user(request: Req, sc: CallerScope) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs, lists=("roles",)), UserIn, strict=False)
        made = await users.create_user(
            sc,
            username=data.username.strip(),
            display_name=data.display_name.strip(),
            password=data.password,
            roles=data.roles,
            department_id=data.department_id,
            title=data.title.strip(),
            email=data.email.strip(),
        )
    except (InvalidInput, Conflict) as exc:
        values = typed_values(pairs, lists=("roles",))
        return await _users(sc, values, refusal(exc, USER_LABELS), exc.status)
    return Redirect(f"/admin/users?created={made.id}", status_code=303)


async def _user(
    sc: Scope,
    user_id: int,
    values: dict[str, Any] | None = None,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    person = await users.get_user(sc, user_id)  # 404: another tenant's, or none
    if values is None:
        values = {"roles": person.roles, "department_id": str(person.department_id or "")}
    options = await _department_options(sc)
    return page(
        "user",
        await chrome(sc, "/admin/users"),
        refused=refused,
        status=status,
        person=person,
        locked=await login_throttle.is_locked(sc, person.username),
        service=person.username == open311.SERVICE_USERNAME,
        department_options=options,
        department_zh=dict(options),
        all_roles=ROLES,
        values=values,
        notice=notice,
    )


@get("/admin/users/{user_id:int}", include_in_schema=False, guards=[requires_admin])
async def user_page(sc: CallerScope, user_id: Id, done: Notice = None) -> Template:
    return await _user(sc, user_id, notice=_done(done))


@post(
    "/admin/users/{user_id:int}", include_in_schema=False, guards=[requires_admin], status_code=200
)
async def update_user(request: Req, sc: CallerScope, user_id: Id) -> Template | Redirect:
    """角色与部门: a form sends every box, so no role ticked is a refusal."""
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs, lists=("roles",)), UserUpdateIn, strict=False)
        await users.update_user(
            sc,
            user_id,
            roles=[] if isinstance(data.roles, UnsetType) else data.roles,
            department_id=None if isinstance(data.department_id, UnsetType) else data.department_id,
        )
    except (InvalidInput, Conflict) as exc:
        values = typed_values(pairs, lists=("roles",))
        return await _user(sc, user_id, values, refusal(exc, USER_LABELS), exc.status)
    return Redirect(f"/admin/users/{user_id}?done=saved", status_code=303)


async def _account_step(sc: Scope, user_id: int, step: str) -> Template | Redirect:
    """停用, 启用, 解锁: a clash (deactivating oneself) is told at the top of the page."""
    try:
        if step == "unlock":
            was_locked = (await users.unlock_login(sc, user_id)).was_locked
            step = "unlocked" if was_locked else "not_locked"
        else:
            await users.set_active(sc, user_id, step == "activated")
    except Conflict as exc:
        return await _user(sc, user_id, refused=refusal(exc, {}), status=exc.status)
    return Redirect(f"/admin/users/{user_id}?done={step}", status_code=303)


@post(
    "/admin/users/{user_id:int}/deactivate",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def deactivate_user(sc: CallerScope, user_id: Id) -> Template | Redirect:
    return await _account_step(sc, user_id, "deactivated")


@post(
    "/admin/users/{user_id:int}/activate",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def activate_user(sc: CallerScope, user_id: Id) -> Template | Redirect:
    return await _account_step(sc, user_id, "activated")


@post(
    "/admin/users/{user_id:int}/unlock",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=200,
)
async def unlock_user(sc: CallerScope, user_id: Id) -> Template | Redirect:
    return await _account_step(sc, user_id, "unlock")


# --- departments -------------------------------------------------------------------------


async def _departments(
    sc: Scope,
    values: dict[str, Any],
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    created: int | None = None,
) -> Template:
    rows = await departments.list_departments(sc)
    return page(
        "departments",
        await chrome(sc, "/admin/departments"),
        refused=refused,
        status=status,
        rows=rows,
        names={d.id: d.name for d in rows},
        kind_options=list(KIND_ZH.items()),
        kind_zh=KIND_ZH,
        parent_options=[(str(d.id), d.name) for d in rows],
        values={"kind": "office", **values},
        created=created,
        notice="已创建部门。" if created else None,
    )


@get("/admin/departments", include_in_schema=False, guards=[requires_admin])
async def departments_page(sc: CallerScope, created: Created = None) -> Template:
    return await _departments(sc, {}, created=created)


@post("/admin/departments", include_in_schema=False, guards=[requires_admin], status_code=200)
async def create_department(request: Req, sc: CallerScope) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs), DepartmentIn, strict=False)
        made = await departments.create_department(sc, data)
    except (InvalidInput, Conflict) as exc:
        return await _departments(
            sc, typed_values(pairs), refusal(exc, DEPARTMENT_LABELS), exc.status
        )
    return Redirect(f"/admin/departments?created={made.id}", status_code=303)


# --- the tenant's settings ---------------------------------------------------------------


def _settings_values(current: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": current.name, "rule_pack": current.rule_pack}
    for key in (
        "token_max_ttl_days",
        "repeat_window_days",
        "veteran_threshold",
        "attachment_max_mb",
    ):
        value = getattr(current, key)
        values[key] = "" if value is None else str(value)
    for key in current.reminders.__struct_fields__:
        value = getattr(current.reminders, key)
        shown = ("true" if value else "") if isinstance(value, bool) else str(value)
        values[f"reminders.{key}"] = shown
    return values


async def _settings(
    sc: Scope,
    values: dict[str, Any] | None = None,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    current = await get_settings(sc)
    return page(
        "settings",
        await chrome(sc, "/admin/settings"),
        refused=refused,
        status=status,
        current=current,
        pack_options=[
            (p.name, f"{p.title_zh}（{p.name}，{p.version}）") for p in current.rule_packs
        ],
        values=_settings_values(current) if values is None else values,
        notice=notice,
    )


@get("/admin/settings", include_in_schema=False, guards=[requires_admin])
async def settings_page(sc: CallerScope, done: Notice = None) -> Template:
    return await _settings(sc, notice=_done(done))


@post("/admin/settings", include_in_schema=False, guards=[requires_admin], status_code=200)
async def save_settings(request: Req, sc: CallerScope) -> Template | Redirect:
    pairs = await posted(request)
    try:
        data = convert(form_body(pairs, checks=CHECKS), TenantSettingsIn, strict=False)
        await update_settings(sc, data)
    except (InvalidInput, Conflict) as exc:
        values = typed_values(pairs)
        for name in CHECKS:
            values[name] = "true" if name in values else ""
        return await _settings(sc, values, refusal(exc, SETTINGS_LABELS), exc.status)
    return Redirect("/admin/settings?done=saved", status_code=303)


ADMIN = [
    overview,
    users_page,
    create_user,
    user_page,
    update_user,
    deactivate_user,
    activate_user,
    unlock_user,
    departments_page,
    create_department,
    settings_page,
    save_settings,
    *OPS,
]
"""Every /admin handler (registered in ``core.web.app``)."""
