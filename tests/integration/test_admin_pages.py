"""The /admin screens in process: every page is for admins only; every write needs an
admin and the CSRF token; a refusal shows the form again (422, or 409 for a clash) with
the message at its field and nothing saved; a success changes what the JSON API reports.
Also the JSON API added for them (PATCH /users/{id}, /tenant/settings)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

import pytest

from core.clock import FixedClock
from core.settings import TIMEZONE
from tests.conftest import PASSWORD
from tests.integration.test_lifecycle import act, clock, open_clock, register  # noqa: F401 (fixture)
from tests.integration.test_pages_and_cli import _login

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}
PAGES = [
    "/admin",
    "/admin/users",
    "/admin/departments",
    "/admin/plugins",
    "/admin/settings",
    "/admin/calendar",
    "/admin/open311",
    "/admin/audit",
]


async def signed_in(client: Any, slug: str, role: str = "admin") -> str:
    """Log in as ``role``; the CSRF token the pages carry."""
    assert (await _login(client, slug, role, PASSWORD)).status_code == 303
    page = await client.get("/login")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def another(client: Any) -> Any:
    """A second browser on the same app (its own cookies)."""
    return client.__class__(transport=client._transport, base_url=client.base_url)


async def api(client: Any, t: Any, path: str) -> Any:
    r = await client.get(path, headers=t.headers("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def post(client: Any, path: str, token: str | None, data: dict[str, Any]) -> Any:
    body = {**data, "_csrf_token": token} if token else data
    return await client.post(path, data=body, headers=HTML)


def at_field(html: str, fid: str, text: str) -> bool:
    """The message stands at the input ``fid`` (its error line), which is marked invalid."""
    error = re.search(rf'id="err-{fid}">([^<]*)<', html)
    return (
        bool(error and text in error.group(1))
        and re.search(rf'id="{fid}"[^>]*aria-invalid="true"', html) is not None
    )


def error_at(html: str, fid: str) -> str:
    """The error line of a group of inputs (a fieldset, not itself an input)."""
    error = re.search(rf'id="err-{fid}">([^<]*)<', html)
    assert re.search(rf'<fieldset[^>]*id="{fid}"[^>]*aria-describedby="err-{fid}"', html)
    return error.group(1) if error else ""


# --- every page, every write: admins only, CSRF ---------------------------------------------


async def test_the_pages_are_for_admins_and_the_nav_links_them(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("court",))
    await signed_in(client, t.slug)
    for path in PAGES:
        page = await client.get(path, headers=HTML)
        assert page.status_code == 200, (path, page.text)
        assert 'href="/admin"' in page.text and 'aria-current="page"' in page.text, path
        assert t.info.name in page.text
        # The CSP: no inline script, style or handler; scripts and styles from /static.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text, re.I), path
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", page.text, re.I), path
    async with another(client) as clerk:
        await signed_in(clerk, t.slug, "supervisor")
        assert 'href="/admin"' not in (await clerk.get("/", headers=HTML)).text
        for path in PAGES:
            assert (await clerk.get(path, headers=HTML)).status_code == 403, path


def writes(t: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every admin form, each with a body that would succeed."""
    clerk = t.users["clerk"]["id"]
    return [
        ("/admin/users", {"username": "newbie", "display_name": "新人", "password": "long-enough-pw",
                          "roles": "clerk"}),
        (f"/admin/users/{clerk}", {"roles": ["clerk", "handler"]}),
        (f"/admin/users/{clerk}/deactivate", {}),
        (f"/admin/users/{clerk}/activate", {}),
        (f"/admin/users/{clerk}/unlock", {}),
        ("/admin/departments", {"code": "water", "name": "供水科", "kind": "office"}),
        ("/admin/plugins/court/enabled", {"enabled": "true"}),
        ("/admin/plugins/court", {"config.departments.filing": "filing"}),
        ("/admin/settings", {"name": "新名称", "rule_pack": "cn-2022"}),
        ("/admin/calendar/preview", {}),
        ("/admin/calendar/import", {"content": "", "filename": "x.csv"}),
        ("/admin/open311", {}),
        ("/admin/audit/verify", {}),
    ]  # fmt: skip


async def test_every_write_needs_an_admin_and_the_csrf_token(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    before = await api(client, t, "/api/v1/users")
    await signed_in(client, t.slug)
    async with another(client) as other:
        token = await signed_in(other, t.slug, "supervisor")
        for path, data in writes(t):
            refused = await post(client, path, None, data)
            assert refused.status_code == 403, (path, refused.status_code)
            assert "表单已过期" in refused.text, path
            denied = await post(other, path, token, data)
            assert denied.status_code == 403 and "系统管理员" in denied.text, path
    assert await api(client, t, "/api/v1/users") == before
    assert [d["code"] for d in await api(client, t, "/api/v1/departments")] == [
        "petition",
        "handling",
    ]
    settings = await api(client, t, "/api/v1/tenant/settings")
    assert settings["name"] == t.info.name
    plugins = await api(client, t, "/api/v1/admin/plugins")
    assert not any(p["enabled"] for p in plugins)


# --- users ------------------------------------------------------------------------------------


async def test_an_admin_creates_a_user_who_can_log_in(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    good = {
        "username": "wang.wu",
        "display_name": "王五",
        "password": "long-enough-pw",
        "roles": ["clerk", "handler"],
        "department_id": str(t.departments["handling"]),
        "title": "",
        "email": "",
    }
    weak = await post(client, "/admin/users", token, {**good, "password": "short"})
    assert weak.status_code == 422
    assert at_field(weak.text, "f-password", "密码太短")
    assert 'value="wang.wu"' in weak.text and "short" not in weak.text  # no password echoed
    assert re.search(r'name="roles" value="handler" checked', weak.text)  # as ticked
    none = await post(client, "/admin/users", token, {**good, "roles": []})
    assert none.status_code == 422 and 'id="err-f-roles"' in none.text
    taken = await post(client, "/admin/users", token, {**good, "username": "clerk"})
    assert taken.status_code == 409 and at_field(taken.text, "f-username", "已存在")
    foreign = await post(client, "/admin/users", token, {**good, "department_id": "999999"})
    assert foreign.status_code == 422 and at_field(foreign.text, "f-department_id", "部门不存在")
    assert "wang.wu" not in [u["username"] for u in await api(client, t, "/api/v1/users")]

    made = await post(client, "/admin/users", token, good)
    assert made.status_code == 303, made.text
    assert made.headers["location"].startswith("/admin/users?created=")
    listed = await client.get(made.headers["location"], headers=HTML)
    assert "已创建用户" in listed.text and "wang.wu" in listed.text
    user = next(u for u in await api(client, t, "/api/v1/users") if u["username"] == "wang.wu")
    assert user["roles"] == ["clerk", "handler"] and user["display_name"] == "王五"
    assert user["department_id"] == t.departments["handling"] and user["active"]
    async with another(client) as newbie:
        assert (await _login(newbie, t.slug, "wang.wu", "long-enough-pw")).status_code == 303


async def test_roles_and_department_change_and_apply_at_once(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    clerk = t.users["clerk"]["id"]
    page = await client.get(f"/admin/users/{clerk}", headers=HTML)
    assert page.status_code == 200 and 'name="roles" value="clerk" checked' in page.text
    r = await post(client, f"/admin/users/{clerk}", token, {"department_id": ""})
    assert r.status_code == 422 and "至少需要一个角色" in error_at(r.text, "f-roles")
    r = await post(client, f"/admin/users/{clerk}", token, {"roles": "root"})
    assert r.status_code == 422 and "未知角色" in r.text
    me = t.users["admin"]["id"]
    r = await post(client, f"/admin/users/{me}", token, {"roles": "clerk"})
    assert r.status_code == 409 and "不能取消自己的系统管理员角色" in r.text
    assert (await api(client, t, f"/api/v1/users/{clerk}"))["roles"] == ["clerk"]

    assert (await client.get("/api/v1/users", headers=t.headers("clerk"))).status_code == 403
    change = {"roles": ["clerk", "admin"], "department_id": ""}
    r = await post(client, f"/admin/users/{clerk}", token, change)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{clerk}?done=saved"
    user = await api(client, t, f"/api/v1/users/{clerk}")
    assert user["roles"] == ["admin", "clerk"] and user["department_id"] is None
    # At the account's next request: its own token now carries the admin's rights.
    assert (await client.get("/api/v1/users", headers=t.headers("clerk"))).status_code == 200
    log = await client.get("/admin/audit?action=user", headers=HTML)
    assert "user.roles_changed" in log.text and "user.department_changed" in log.text


async def test_deactivate_ends_sessions_activate_and_unlock(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.services import login_throttle

    t = await make_tenant()
    token = await signed_in(client, t.slug)
    clerk = t.users["clerk"]["id"]
    async with another(client) as desk:
        await signed_in(desk, t.slug, "clerk")
        assert (await desk.get("/", headers=HTML)).status_code == 200
        r = await post(client, f"/admin/users/{clerk}/deactivate", token, {})
        assert r.status_code == 303 and r.headers["location"].endswith("?done=deactivated")
        assert not (await api(client, t, f"/api/v1/users/{clerk}"))["active"]
        gone = await desk.get("/", headers=HTML)
        assert gone.status_code in (302, 303) and "/login" in gone.headers["location"]
    r = await post(client, f"/admin/users/{clerk}/activate", token, {})
    assert r.status_code == 303 and (await api(client, t, f"/api/v1/users/{clerk}"))["active"]
    me = t.users["admin"]["id"]
    r = await post(client, f"/admin/users/{me}/deactivate", token, {})
    assert r.status_code == 409 and "不能停用自己的账号" in r.text and 'id="summary"' in r.text

    # Locked after too many failed logins (the throttle's own count), then unlocked.
    key = login_throttle._account_key(rt, t.slug, "clerk")
    await rt.redis.hset(key, mapping={"fails": login_throttle.LOCK_AFTER, "last": 0})
    async with another(client) as desk:
        assert (await _login(desk, t.slug, "clerk", PASSWORD)).status_code == 429
        page = await client.get(f"/admin/users/{clerk}", headers=HTML)
        assert "已锁定" in page.text
        listed = (await client.get("/admin/users", headers=HTML)).text
        assert listed.count("登录已锁定") == 1  # the clerk's row only
        r = await post(client, f"/admin/users/{clerk}/unlock", token, {})
        assert r.status_code == 303 and r.headers["location"].endswith("?done=unlocked")
        assert "已解除登录锁定" in (await client.get(r.headers["location"], headers=HTML)).text
        assert (await _login(desk, t.slug, "clerk", PASSWORD)).status_code == 303


async def test_users_patch_api(client: Any, make_tenant: Any) -> None:
    t, other = await make_tenant(), await make_tenant()
    clerk = t.users["clerk"]["id"]
    url = f"/api/v1/users/{clerk}"
    r = await client.patch(url, json={"department_id": None}, headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["department_id"] is None
    assert r.json()["roles"] == ["clerk"]  # left out: unchanged
    r = await client.patch(url, json={"roles": ["leader"]}, headers=t.headers("admin"))
    assert r.status_code == 200 and r.json()["roles"] == ["leader"]
    assert r.json()["department_id"] is None
    foreign = {"department_id": other.departments["petition"]}
    r = await client.patch(url, json=foreign, headers=t.headers("admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "department_id"
    r = await client.patch(url, json={"roles": []}, headers=t.headers("admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "roles"
    r = await client.patch(
        f"/api/v1/users/{other.users['clerk']['id']}", json={}, headers=t.headers("admin")
    )
    assert r.status_code == 404
    assert (await client.patch(url, json={}, headers=t.headers("clerk"))).status_code == 403


# --- departments --------------------------------------------------------------------------------


async def test_departments_list_and_create(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    good = {"code": "water", "name": "供水科", "kind": "office",
            "parent_id": str(t.departments["handling"])}  # fmt: skip
    r = await post(client, "/admin/departments", token, {**good, "code": "有 空格"})
    assert r.status_code == 422 and at_field(r.text, "f-code", "格式不正确")
    r = await post(client, "/admin/departments", token, {**good, "name": " "})
    assert r.status_code == 422 and at_field(r.text, "f-name", "请填写")
    r = await post(client, "/admin/departments", token, {**good, "code": "petition"})
    assert r.status_code == 409 and at_field(r.text, "f-code", "已存在")
    assert 'value="供水科"' in r.text
    assert len(await api(client, t, "/api/v1/departments")) == 2
    r = await post(client, "/admin/departments", token, good)
    assert r.status_code == 303, r.text
    made = next(d for d in await api(client, t, "/api/v1/departments") if d["code"] == "water")
    assert made["name"] == "供水科" and made["parent_id"] == t.departments["handling"]
    page = await client.get(r.headers["location"], headers=HTML)
    assert "已创建部门" in page.text and "供水科" in page.text


# --- plugins ------------------------------------------------------------------------------------


async def test_plugins_on_off_and_settings_with_refusals_at_their_field(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    page = await client.get("/admin/plugins", headers=HTML)
    for name in ("court", "enterprise_logistics", "police"):
        assert f'id="plugin-{name}"' in page.text
    assert 'name="config.temp_standard"' in page.text
    assert 'name="config.heating_season.start"' in page.text

    r = await post(
        client, "/admin/plugins/enterprise_logistics/enabled", token, {"enabled": "true"}
    )
    assert r.status_code == 303
    states = {p["name"]: p for p in await api(client, t, "/api/v1/admin/plugins")}
    assert states["enterprise_logistics"]["enabled"] and not states["court"]["enabled"]
    categories = await api(client, t, "/api/v1/categories")
    assert "heating" in {c["code"] for c in categories}

    settings = {
        "config.temp_standard": "30",
        "config.heating_season.start": "11-01",
        "config.heating_season.end": "03-31",
        "config.cluster_threshold": "5",
        "config.cluster_window_hours": "24",
        **{f"config.departments.{k}": v
           for k, v in states["enterprise_logistics"]["config"]["departments"].items()},
    }  # fmt: skip
    r = await post(client, "/admin/plugins/enterprise_logistics", token, settings)
    assert r.status_code == 422, r.text
    assert at_field(r.text, "f-p-enterprise_logistics-config-temp_standard", "10–26")
    assert 'value="11-01"' in r.text  # the rest as typed
    r = await post(
        client,
        "/admin/plugins/enterprise_logistics",
        token,
        {**settings, "config.temp_standard": "20", "config.heating_season.start": "1101"},
    )
    assert r.status_code == 422
    assert at_field(r.text, "f-p-enterprise_logistics-config-heating_season-start", "MM-DD")
    r = await post(client, "/admin/plugins/enterprise_logistics", token,
                   {**settings, "config.cluster_threshold": "many", "config.temp_standard": "20"})  # fmt: skip
    assert r.status_code == 422
    assert at_field(r.text, "f-p-enterprise_logistics-config-cluster_threshold", "应为数字")
    before = next(p for p in await api(client, t, "/api/v1/admin/plugins")
                  if p["name"] == "enterprise_logistics")  # fmt: skip
    assert before["config"]["temp_standard"] == 18

    r = await post(
        client,
        "/admin/plugins/enterprise_logistics",
        token,
        {**settings, "config.temp_standard": "20"},
    )
    assert r.status_code == 303, r.text
    after = next(p for p in await api(client, t, "/api/v1/admin/plugins")
                 if p["name"] == "enterprise_logistics")  # fmt: skip
    assert after["config"]["temp_standard"] == 20
    assert after["config"]["heating_season"] == {"start": "11-01", "end": "03-31"}
    assert after["enabled"]  # saving settings leaves the switch as it was
    r = await post(
        client, "/admin/plugins/enterprise_logistics/enabled", token, {"enabled": "false"}
    )
    assert r.status_code == 303
    assert "heating" not in {c["code"] for c in await api(client, t, "/api/v1/categories")}
    assert (await post(client, "/admin/plugins/nope/enabled", token, {})).status_code == 404


# --- settings ------------------------------------------------------------------------------------


def settings_form(**over: str) -> dict[str, str]:
    form = {
        "name": "北城供热公司信访办",
        "rule_pack": "zhejiang",
        "token_max_ttl_days": "30",
        "repeat_window_days": "",
        "veteran_threshold": "",
        "reminders.approach_days": "5",
        "reminders.escalate_after": "2",
        "reminders.transfer_warn_days": "1",
        "reminders.extension_escalate_after": "2",
        "reminders.digest_hour": "9",
        "reminders.screening_day": "20",
        "reminders.screening_lead": "3",
        "reminders.screening": "true",
    }
    form.update(over)
    return {k: v for k, v in form.items() if v != "-"}


async def test_settings_are_saved_and_refused_at_their_field(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    page = await client.get("/admin/settings", headers=HTML)
    assert 'option value="cn-2022" selected' in page.text and "zhejiang" in page.text
    r = await post(client, "/admin/settings", token, settings_form(token_max_ttl_days="0"))
    assert r.status_code == 422 and at_field(r.text, "f-token_max_ttl_days", "不能小于 1")
    r = await post(
        client, "/admin/settings", token, settings_form(**{"reminders.digest_hour": "24"})
    )
    assert r.status_code == 422 and at_field(r.text, "f-reminders-digest_hour", "不能大于 23")
    r = await post(client, "/admin/settings", token, settings_form(rule_pack="no-such-pack"))
    assert r.status_code == 422 and at_field(r.text, "f-rule_pack", "no-such-pack")
    r = await post(client, "/admin/settings", token, settings_form(name=" "))
    assert r.status_code == 422 and at_field(r.text, "f-name", "请填写")
    assert 'value="30"' in r.text  # what was typed stays
    assert (await api(client, t, "/api/v1/tenant/settings"))["rule_pack"] == "cn-2022"

    r = await post(client, "/admin/settings", token, settings_form())
    assert r.status_code == 303 and r.headers["location"] == "/admin/settings?done=saved"
    saved = await api(client, t, "/api/v1/tenant/settings")
    assert saved["name"] == "北城供热公司信访办" and saved["rule_pack"] == "zhejiang"
    assert saved["token_max_ttl_days"] == 30 and saved["repeat_window_days"] is None
    assert saved["reminders"]["approach_days"] == 5 and saved["reminders"]["digest_hour"] == 9
    assert saved["reminders"]["screening"] and not saved["reminders"]["digest"]  # unticked
    me = await api(client, t, "/api/v1/me")
    assert me["tenant"]["name"] == "北城供热公司信访办" and me["tenant"]["rule_pack"] == "zhejiang"
    # The token lifetime now applies: 31 days is refused.
    r = await client.post("/api/v1/me/tokens", json={"ttl_days": 31}, headers=t.headers("admin"))
    assert r.status_code == 422 and r.json()["error"]["details"]["max_days"] == 30
    log = await client.get("/admin/audit?action=tenant", headers=HTML)
    assert "tenant.settings_changed" in log.text


async def test_settings_api_and_a_pack_without_the_running_clocks(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(rule_pack="grassroots-practice")
    got = await api(client, t, "/api/v1/tenant/settings")
    assert got["rule_pack"] == "grassroots-practice"
    assert {p["name"] for p in got["rule_packs"]} >= {"cn-2022", "zhejiang", "grassroots-practice"}
    assert got["defaults"]["token_max_ttl_days"] == 90
    body = {"name": "甲", "rule_pack": "cn-2022", "reminders": {"digest": False}}
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["rule_pack"] == "cn-2022" and r.json()["reminders"]["approach_days"] == 3
    assert not r.json()["reminders"]["digest"]
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("clerk"))
    assert r.status_code == 403
    bad = {**body, "reminders": {"screening_day": 31}}
    r = await client.put("/api/v1/tenant/settings", json=bad, headers=t.headers("admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "reminders.screening_day"

    # A matter assigned from above runs grassroots-practice's own clock: cn-2022 lacks it.
    body["rule_pack"] = "grassroots-practice"
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("admin"))
    assert r.status_code == 200
    case = await register(client, t, assigned_from_above=True)
    await act(client, t, case["id"], "accept", "clerk")
    clocks = await api(client, t, f"/api/v1/cases/{case['id']}/deadlines")
    assert "handle_assigned" in {c["clock"] for c in clocks if c["state"] == "open"}
    body["rule_pack"] = "cn-2022"
    r = await client.put("/api/v1/tenant/settings", json=body, headers=t.headers("admin"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "rule_pack_clocks"


# --- the calendar ----------------------------------------------------------------------------


@pytest.mark.usefixtures("clock")
async def test_calendar_import_previews_what_moves_then_imports(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.db.engine import global_tx
    from core.db.tables import WorkCalendarDay, WorkCalendarYear
    from tests.calendar_notice import notice_2027_csv

    t = await make_tenant()
    fixed: FixedClock = rt.clock
    fixed.set(datetime(2026, 11, 20, 9, 0, tzinfo=TIMEZONE))
    case = await register(client, t)
    case = await act(client, t, case["id"], "accept", "clerk")
    assert open_clock(case, "handle")["due"] == "2027-01-19"
    token = await signed_in(client, t.slug)
    notice = notice_2027_csv("2027-01-19,holiday,假想假日")

    async def upload(content: str, name: str = "2027.csv", csrf: str | None = token) -> Any:
        data = {"_csrf_token": csrf} if csrf else {}
        files = {"file": (name, content.encode(), "text/csv")}
        return await client.post("/admin/calendar/preview", data=data, files=files, headers=HTML)

    assert (await upload(notice, csrf=None)).status_code == 403
    bad = await upload(notice.replace("2027-02-14,workday", "2027-02-15,workday"))
    assert bad.status_code == 422 and at_field(bad.text, "f-file", "本来就是工作日")
    empty = await client.post("/admin/calendar/preview", data={"_csrf_token": token}, headers=HTML)
    assert empty.status_code == 422 and at_field(empty.text, "f-file", "请选择")
    settings = rt.settings
    try:
        # The calendar is the deployment's: a tenant not named in XINFANG_CALENDAR_ADMINS
        # sees the preview and the operator's command, and its import is refused.
        shown = await upload(notice)
        assert shown.status_code == 200 and "确认导入" not in shown.text
        assert "xinfang calendar import 2027.csv" in shown.text
        refused = await post(client, "/admin/calendar/import", token,
                             {"content": notice, "filename": "2027.csv"})  # fmt: skip
        assert refused.status_code == 403
        assert "运维" in refused.text
        assert (await api(client, t, "/api/v1/calendar/2027"))["provisional"]  # nothing moved
        rt.settings = dataclasses.replace(settings, calendar_admins=frozenset({t.slug}))
        shown = await upload(notice)
        assert shown.status_code == 200, shown.text
        html = shown.text
        assert "预览：导入 2027 年工作日历" in html and case["receipt_code"] in html
        assert "2027年1月19日（周二）" in html and "2027年1月20日（周三）" in html
        assert (await api(client, t, "/api/v1/calendar/2027"))["provisional"]  # nothing yet
        content = re.search(r'name="content" value="([^"]*)"', html)
        assert content
        import html as html_lib

        r = await post(client, "/admin/calendar/import", token,
                       {"content": html_lib.unescape(content.group(1)), "filename": "2027.csv"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert "已导入 2027 年工作日历" in r.text and case["receipt_code"] in r.text
        assert not (await api(client, t, "/api/v1/calendar/2027"))["provisional"]
        after = await api(client, t, f"/api/v1/cases/{case['id']}")
        handle = open_clock(after, "handle")
        assert handle["due"] == "2027-01-20" and not handle["provisional"]
        log = await client.get("/admin/audit?action=calendar", headers=HTML)
        assert "calendar.imported" in log.text and "calendar:2027" in log.text
        r = await post(
            client, "/admin/calendar/import", token, {"content": "x", "filename": "a.csv"}
        )
        assert r.status_code == 422 and 'id="err-f-file"' in r.text
    finally:
        rt.settings = settings
        async with global_tx():
            await WorkCalendarDay.delete().where(WorkCalendarDay.day >= datetime(2027, 1, 1).date())
            await WorkCalendarYear.delete().where(WorkCalendarYear.year == 2027)


# --- Open311 -----------------------------------------------------------------------------------


async def test_the_open311_key_is_shown_once_and_rotates(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    assert "尚未设置" in (await client.get("/admin/open311", headers=HTML)).text
    keys = []
    for _ in range(2):
        r = await post(client, "/admin/open311", token, {})
        assert r.status_code == 200 and "只显示这一次" in r.text
        found = re.search(r'id="o311-key">(o311_[^<]+)<', r.text)
        assert found
        keys.append(found.group(1))
    page = await client.get("/admin/open311", headers=HTML)
    assert "已设置" in page.text and keys[1] not in page.text
    listing = f"/open311/{t.slug}/v2/requests.json"
    assert (await client.get(listing, params={"api_key": keys[1]})).status_code == 200
    assert (await client.get(listing, params={"api_key": keys[0]})).status_code == 403


# --- the audit log --------------------------------------------------------------------------------


async def test_audit_log_newest_first_filtered_paged_and_verified(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    token = await signed_in(client, t.slug)
    for i in range(55):
        r = await post(client, "/admin/departments", token, {"code": f"d{i}", "name": f"部门{i}"})
        assert r.status_code == 303
    page = await client.get("/admin/audit", headers=HTML)
    seqs = [int(s) for s in re.findall(r'<td class="mono">(\d+)</td>', page.text)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="(/admin/audit\?before=\d+)">更早的记录', page.text)
    assert older
    rest = await client.get(older.group(1), headers=HTML)
    more = [int(s) for s in re.findall(r'<td class="mono">(\d+)</td>', rest.text)]
    assert more and max(more) < min(seqs) and "回到最新" in rest.text

    only = await client.get("/admin/audit", params={"action": "login"}, headers=HTML)
    actions = re.findall(r'<span class="mono muted">([a-z_.]+)</span>', only.text)
    assert actions and set(actions) == {"login.success"}
    mine = await client.get("/admin/audit", params={"actor": "admin"}, headers=HTML)
    assert "department.created" in mine.text
    assert 'name="actor" type="text" value="admin"' in mine.text
    bad = await client.get("/admin/audit", params={"action": "DROP TABLE"}, headers=HTML)
    assert bad.status_code == 422 and at_field(bad.text, "f-action", "操作")

    full = await post(client, "/admin/audit/verify", token, {})
    assert full.status_code == 200 and "审计日志完好" in full.text and "<html" in full.text
    part = await client.post(
        "/admin/audit/verify", headers={"hx-request": "true", "x-csrftoken": token}
    )
    assert part.status_code == 200 and "审计日志完好" in part.text and "<html" not in part.text


async def test_an_accused_admin_sees_no_audit_row_of_the_complaint(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.services import users

    t = await make_tenant()
    await users.create_user(
        t.scope(rt), username="admin2", display_name="另一位管理员", password=PASSWORD,
        roles=["admin"],
    )  # fmt: skip
    accusation = {
        "legal_category": "accusation",
        "purpose": "accusation",
        "accused": {"user_ids": [t.users["admin"]["id"]]},
        "cause": "管理员滥用职权",
    }
    hidden = await register(client, t, **accusation)
    seen = await register(client, t)
    await signed_in(client, t.slug)
    log = (await client.get("/admin/audit", params={"action": "case"}, headers=HTML)).text
    assert f"case:{seen['id']}<" in log
    assert f"case:{hidden['id']}<" not in log and hidden["receipt_code"] not in log
    async with another(client) as control:  # a colleague not accused finds it (the check can fail)
        await signed_in(control, t.slug, "admin2")
        log = (await control.get("/admin/audit", params={"action": "case"}, headers=HTML)).text
        assert f"case:{hidden['id']}<" in log
