"""The tenant's administration, continued (``core.web.admin``): its plugins and their
settings, importing the year's work calendar with a preview of what moves, the Open311
key (shown once) and the audit log with a check of its chain."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect, Template

from core.errors import InvalidInput, NotFound
from core.schemas import MAX_ID
from core.services import audit_log, calendar_admin, deadlines, open311, plugin_admin
from core.services.calendar import calendar_year
from core.services.scope import Scope
from core.web.adminform import (
    Refusal,
    config_fields,
    config_from_form,
    config_values,
    groups_of,
    refusal,
)
from core.web.adminpage import NO_REFUSAL, Req, chrome, page, posted
from core.web.auth import CallerScope, requires_admin

PluginName = Annotated[str, Parameter(max_length=63, pattern=r"^[A-Za-z0-9_.-]+$")]
Text = Annotated[str | None, Parameter(max_length=127)]
Before = Annotated[int | None, Parameter(ge=1, le=MAX_ID, description="上一页最后一条的序号")]

MAX_CALENDAR_FILE = 256 * 1024
"""A year's notice is a few kilobytes; anything this large is not one."""
CALENDAR_LABELS = {"file": "日历文件"}
AUDIT_LABELS = {"actor": "操作人", "action": "操作"}
ACTION_ZH = {
    "login.success": "登录成功",
    "login.failure": "登录失败",
    "user.created": "创建用户",
    "user.roles_changed": "修改角色",
    "user.department_changed": "调整部门",
    "user.deactivated": "停用账号",
    "user.activated": "启用账号",
    "user.password_changed": "修改密码",
    "token.created": "创建令牌",
    "token.revoked": "吊销令牌",
    "department.created": "创建部门",
    "plugin.enabled": "启用插件",
    "plugin.disabled": "停用插件",
    "plugin.settings_changed": "修改插件设置",
    "tenant.created": "创建机构",
    "tenant.settings_changed": "修改机构设置",
    "calendar.imported": "导入工作日历",
    "open311.key_created": "生成 Open311 密钥",
    "case.registered": "登记信访事项",
    "visitor.registered": "登记信访人",
    "visitor.updated": "更新信访人",
    "reveal": "查看完整信息",
    "reveal.case_form": "查看完整表单信息",
    "case.attachment_added": "上传附件",
    "export.clear": "明文导出",
    "session.created": "创建接访安排",
}


# --- plugins ---------------------------------------------------------------------------


async def _plugins(
    sc: Scope,
    *,
    failed: str | None = None,
    typed: dict[str, Any] | None = None,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    notice: str | None = None,
) -> Template:
    """Every installed plugin with its switch and its settings; ``failed``: the plugin
    whose settings were refused (its form shows what was typed and the message)."""
    cards = []
    for p in await plugin_admin.list_plugins(sc):
        fields = config_fields(p.config, p.config)
        values = {f.name: f.value for f in fields}
        if p.name == failed and typed is not None:
            values.update(typed)
        cards.append({**msgspec.structs.asdict(p), "fields": fields, "values": values})
    return page(
        "plugins",
        await chrome(sc, "/admin/plugins"),
        refused=refused,
        status=status,
        cards=cards,
        failed=failed,
        notice=notice,
    )


PLUGIN_DONE = {"on": "已启用插件。", "off": "已停用插件。", "saved": "插件设置已保存。"}


@get("/admin/plugins", include_in_schema=False, guards=[requires_admin])
async def plugins_page(sc: CallerScope, done: Text = None) -> Template:
    return await _plugins(sc, notice=PLUGIN_DONE.get(done or ""))


@post(
    "/admin/plugins/{name:str}/enabled",
    include_in_schema=False,
    guards=[requires_admin],
    status_code=303,
)
async def switch_plugin(request: Req, sc: CallerScope, name: PluginName) -> Redirect:
    """启用/停用 (the switch posts the state it asks for)."""
    enabled = dict(await posted(request)).get("enabled") == "true"
    await plugin_admin.configure(sc, name, enabled=enabled)  # not installed: 404
    return Redirect(
        f"/admin/plugins?done={'on' if enabled else 'off'}#plugin-{name}", status_code=303
    )


@post(
    "/admin/plugins/{name:str}", include_in_schema=False, guards=[requires_admin], status_code=200
)
async def configure_plugin(request: Req, sc: CallerScope, name: PluginName) -> Template | Redirect:
    """A plugin's settings, typed after its defaults and checked by the plugin."""
    current = next((p for p in await plugin_admin.list_plugins(sc) if p.name == name), None)
    if current is None:
        raise NotFound("plugin_not_installed", f"插件 {name} 未安装。", field="plugin")
    fields = config_fields(current.config, current.config)
    pairs = await posted(request)
    try:
        await plugin_admin.configure(sc, name, config=config_from_form(fields, pairs))
    except InvalidInput as exc:
        labels = {f.path: f.path for f in fields}
        refused = refusal(exc, labels, groups_of(fields))
        typed = config_values(fields, pairs)
        return await _plugins(sc, failed=name, typed=typed, refused=refused, status=exc.status)
    return Redirect(f"/admin/plugins?done=saved#plugin-{name}", status_code=303)


# --- the work calendar -------------------------------------------------------------------


async def _calendar(
    sc: Scope,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    **context: Any,
) -> Template:
    cal = await deadlines.work_calendar()
    this_year = sc.rt.clock.today().year
    years = [calendar_year(cal, y) for y in (this_year, this_year + 1)]
    return page(
        "calendar",
        await chrome(sc, "/admin/calendar"),
        refused=refused,
        status=status,
        years=years,
        may_import=calendar_admin.may_import(sc),
        **context,
    )


@get("/admin/calendar", include_in_schema=False, guards=[requires_admin])
async def calendar_page(sc: CallerScope) -> Template:
    return await _calendar(sc)


@post("/admin/calendar/preview", include_in_schema=False, guards=[requires_admin], status_code=200)
async def calendar_preview(request: Req, sc: CallerScope) -> Template:
    """Read the uploaded notice and show what importing it would change; nothing is
    written until the import is confirmed."""
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("file_required", "请选择要导入的日历文件。", field="file")
        data = await upload.read(MAX_CALENDAR_FILE + 1)
        if len(data) > MAX_CALENDAR_FILE:
            raise InvalidInput("file_too_large", "文件过大，不是一年的放假通知。", field="file")
        year, entries = calendar_admin.parse(data, upload.filename)
        preview = await calendar_admin.preview(sc, year, entries)
    except InvalidInput as exc:
        exc.field = "file"  # the file's line and column are in the message
        return await _calendar(sc, refusal(exc, CALENDAR_LABELS), exc.status)
    return await _calendar(
        sc, preview=preview, content=data.decode("utf-8"), filename=upload.filename
    )


@post("/admin/calendar/import", include_in_schema=False, guards=[requires_admin], status_code=200)
async def calendar_import(request: Req, sc: CallerScope) -> Template:
    """The confirmed import: the file comes back from the preview page as it was read."""
    form = dict(await posted(request))
    filename = form.get("filename", "")[:200]
    try:
        year, entries = calendar_admin.parse(form.get("content", "").encode(), filename)
        done = await calendar_admin.import_calendar(sc, year, entries, filename=filename)
    except InvalidInput as exc:
        exc.field = "file"
        return await _calendar(sc, refusal(exc, CALENDAR_LABELS), exc.status)
    return await _calendar(sc, imported=done)


# --- Open311 -----------------------------------------------------------------------------


async def _open311(sc: Scope, key: str | None = None) -> Template:
    frame = await chrome(sc, "/admin/open311")
    return page(
        "open311",
        frame,
        has_key=key is not None or await open311.has_key(sc),
        key=key,
        endpoint=f"{sc.rt.settings.base_url}/open311/{sc.tenant_slug}/v2/",
    )


@get("/admin/open311", include_in_schema=False, guards=[requires_admin])
async def open311_page(sc: CallerScope) -> Template:
    return await _open311(sc)


@post("/admin/open311", include_in_schema=False, guards=[requires_admin], status_code=200)
async def open311_key(sc: CallerScope) -> Template:
    """Issue or rotate the key: shown on this answer only (only its hash is kept)."""
    return await _open311(sc, await open311.create_key(sc))


# --- the audit log ------------------------------------------------------------------------


async def _audit(
    sc: Scope,
    *,
    before: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    check: audit_log.ChainCheck | None = None,
) -> Template:
    values = {"actor": actor or "", "action": action or ""}
    refused, status, entries = NO_REFUSAL, 200, None
    try:
        entries = await audit_log.list_entries(sc, before=before, actor=actor, action=action)
    except InvalidInput as exc:
        refused, status = refusal(exc, AUDIT_LABELS), exc.status
    filters = {k: v for k, v in values.items() if v}
    older = entries.next_before if entries else None
    return page(
        "audit",
        await chrome(sc, "/admin/audit"),
        refused=refused,
        status=status,
        values=values,
        entries=entries,
        before=before,
        families=list(audit_log.FAMILIES.items()),
        action_zh=ACTION_ZH,
        check=check,
        newest_url=f"/admin/audit?{urlencode(filters)}" if before else None,
        older_url=f"/admin/audit?{urlencode({**filters, 'before': older})}" if older else None,
    )


@get("/admin/audit", include_in_schema=False, guards=[requires_admin])
async def audit_page(
    sc: CallerScope, before: Before = None, actor: Text = None, action: Text = None
) -> Template:
    """Newest first, 50 a page (``before``: the last row's number on the page before)."""
    return await _audit(sc, before=before, actor=actor or None, action=action or None)


@post("/admin/audit/verify", include_in_schema=False, guards=[requires_admin], status_code=200)
async def audit_verify(request: Req, sc: CallerScope) -> Template:
    """校验: the whole chain, link by link. htmx swaps in the result; without it the
    page comes back with the result on top."""
    check = await audit_log.verify(sc)
    if request.headers.get("hx-request") == "true":
        return Template("admin/verify.html", context={"check": check})
    return await _audit(sc, check=check)


OPS = [
    plugins_page,
    switch_plugin,
    configure_plugin,
    calendar_page,
    calendar_preview,
    calendar_import,
    open311_page,
    open311_key,
    audit_page,
    audit_verify,
]
