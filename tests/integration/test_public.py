"""The public pages in process, on both engines: the board shows published slots only;
progress lookup by receipt code + last four phone digits answers milestones only, the
same "not found" for a wrong code, wrong digits or another tenant's code, and 429 past
its limits; online submission registers through the desk's service with channel
online (CSRF without a session, a service account as registrar, audited), refuses a bad
ID number at its field with nothing written, drops a honeypot hit silently, and an
unknown tenant is a 404 page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.db.tables import AuditLog, CaseParticipant, PetitionCase, StaffUser, Visitor
from core.services import public_throttle
from tests.conftest import valid_id_number
from tests.integration.test_platform_api import case_body

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}
ID = valid_id_number(birth="19850505", seq=246)


def csrf(text: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', text)
    assert found, text[:500]
    return found.group(1)


def petition(**over: str) -> dict[str, str]:
    data = {
        "visitor.name": "王五",
        "visitor.id_number": ID,
        "visitor.phone": "13900002468",
        "visitor.address": "幸福小区 5 号楼",
        "category": "general",
        "cause": "小区路灯损坏三个月无人维修",
        "demand": "尽快修复",
    }
    data.update(over)
    return data


async def submit(client: Any, slug: str, data: dict[str, str]) -> Any:
    page = await client.get(f"/t/{slug}/submit", headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(
        f"/t/{slug}/submit", data={**data, "_csrf_token": csrf(page.text)}, headers=HTML
    )


async def cases_of(rt: Any, t: Any) -> list[dict[str, Any]]:
    sc = t.scope(rt)
    async with sc.tx(write=False):
        return list(await sc.select(PetitionCase).order_by(PetitionCase.id))


async def register(client: Any, t: Any, **over: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/cases", json=case_body(**over), headers=t.headers())
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def lookup(client: Any, slug: str, code: str, digits: str) -> Any:
    return await client.post(
        f"/t/{slug}/lookup.json", json={"receipt_code": code, "phone_last4": digits}
    )


# --- lookup ---------------------------------------------------------------------------


async def test_lookup_answers_milestones_only(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant()
    case = await register(client, t, demand="私人诉求：赔偿 5 万元")
    r = await client.post(
        f"/api/v1/cases/{case['id']}/actions/accept",
        json={"version": 1, "note": "内部说明：请张科长处理"},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.text

    r = await lookup(client, t.slug, case["receipt_code"].lower(), "5678")
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {
        "receipt_code", "status", "status_zh", "category_zh", "received_on", "milestones"
    }  # fmt: skip
    assert got["status"] == "accepted" and got["status_zh"] == "已受理"
    assert [m["kind"] for m in got["milestones"]] == ["registered", "accepted"]
    text = r.text
    for secret in ("张三", "张科长", "内部说明", "赔偿", "暖气", "13812345678", "clerk", "朝阳"):
        assert secret not in text, secret

    # The page says the same, and never echoes the digits back.
    page = await client.get(f"/t/{t.slug}/lookup", headers=HTML)
    r = await client.post(
        f"/t/{t.slug}/lookup",
        data={
            "receipt_code": case["receipt_code"],
            "phone_last4": "5678",
            "_csrf_token": csrf(page.text),
        },
        headers=HTML,
    )
    assert r.status_code == 200, r.text
    assert "已受理" in r.text and case["receipt_code"] in r.text
    assert 'value="5678"' not in r.text and "张三" not in r.text


async def test_wrong_code_wrong_digits_and_other_tenants_code_answer_alike(
    client: Any, make_tenant: Any
) -> None:
    t, other = await make_tenant(), await make_tenant()
    mine = await register(client, t)
    theirs = await register(client, other)
    answers = [
        await lookup(client, t.slug, mine["receipt_code"], "0000"),  # wrong digits
        await lookup(client, t.slug, mine["receipt_code"][:-1] + "Z", "5678"),  # wrong code
        await lookup(client, t.slug, theirs["receipt_code"], "5678"),  # another tenant's
        await lookup(client, t.slug, "not-a-code", "5678"),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert answers[0].json()["error"]["code"] == "progress_not_found"
    # The other tenant's own slug finds its case.
    assert (await lookup(client, other.slug, theirs["receipt_code"], "5678")).status_code == 200
    # Malformed digits are a field error, not a lookup.
    bad = await lookup(client, t.slug, mine["receipt_code"], "56")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "phone_last4"
    assert (await lookup(client, "no-such-tenant", mine["receipt_code"], "5678")).status_code == 404


async def test_lookup_is_rate_limited_per_code_and_per_address(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    case = await register(client, t)
    code = case["receipt_code"]
    for _ in range(public_throttle.LOOKUP_CODE_FAILURES):
        assert (await lookup(client, t.slug, code, "1111")).status_code == 404
    # The code is closed now, even to the right digits (no oracle), with Retry-After.
    locked = await lookup(client, t.slug, code, "5678")
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "too_many_failures"
    assert 0 < int(locked.headers["retry-after"]) <= public_throttle.LOOKUP_CODE_WINDOW
    # The page shows the same refusal as a page.
    page = await client.get(f"/t/{t.slug}/lookup", headers=HTML)
    r = await client.post(
        f"/t/{t.slug}/lookup",
        data={"receipt_code": code, "phone_last4": "5678", "_csrf_token": csrf(page.text)},
        headers=HTML,
    )
    assert r.status_code == 429 and "失败次数过多" in r.text and "retry-after" in r.headers
    # The address has used its 10 lookups in the window: any code is refused now.
    tries = 0
    while (r := await lookup(client, t.slug, f"261129-{tries:08d}", "1234")).status_code == 404:
        tries += 1  # a new code each time: only the address's count can end this
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_lookups"


# --- submission -----------------------------------------------------------------------


async def test_online_submission_registers_an_online_case_by_the_service_account(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    fields = await client.get(f"/t/{t.slug}/submit/fields", params={"category": "heating"})
    assert fields.status_code == 200 and 'name="form.' in fields.text

    r = await submit(client, t.slug, petition())
    assert r.status_code == 200, r.text
    code = re.search(r'id="receipt-code">([^<]+)<', r.text)
    assert code, r.text
    rows = await cases_of(rt, t)
    assert len(rows) == 1
    case = rows[0]
    assert case["receipt_code"] == code.group(1) and case["channel"] == "online"
    sc = t.scope(rt)
    async with sc.tx(write=False):
        registrar = await sc.select(StaffUser).where(StaffUser.id == case["registered_by"]).first()
        audit = await sc.select(AuditLog, AuditLog.action, AuditLog.actor).where(
            AuditLog.target == f"case:{case['id']}"
        )
    assert registrar["username"] == "online-petition" and registrar["active"] is False
    assert {"case.registered", "case.online_submitted"} <= {a["action"] for a in audit}
    assert {a["actor"] for a in audit} == {"online"}
    # And the petitioner can look it up.
    r = await lookup(client, t.slug, code.group(1), "2468")
    assert r.status_code == 200 and r.json()["milestones"][0]["kind"] == "registered"


async def test_a_person_on_file_is_not_changed_by_an_online_form(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    await register(client, t, visitor={"name": "王五", "id_number": ID, "phone": "13812345678"})
    r = await submit(client, t.slug, petition())
    assert r.status_code == 200, r.text
    sc = t.scope(rt)
    async with sc.tx(write=False):
        people = await sc.select(Visitor, Visitor.phone_masked)
        contacts = await sc.select(
            CaseParticipant, CaseParticipant.role, CaseParticipant.phone_masked
        )
    assert [p["phone_masked"] for p in people] == ["138****5678"]
    assert contacts == [{"role": "online_contact", "phone_masked": "139****2468"}]
    online = (await cases_of(rt, t))[-1]
    # The submitter finds their matter with their own phone's digits.
    assert (await lookup(client, t.slug, online["receipt_code"], "2468")).status_code == 200


async def test_bad_input_is_shown_at_its_field_and_nothing_is_written(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    r = await submit(client, t.slug, petition(**{"visitor.id_number": bad}))
    assert r.status_code == 422, r.text
    assert 'id="err-f-visitor-id_number"' in r.text and "校验位" in r.text
    assert 'value="王五"' in r.text and "路灯" in r.text
    r = await submit(client, t.slug, petition(category="no-such-category"))
    assert r.status_code == 422 and "err-f-category" in r.text
    sc = t.scope(rt)
    async with sc.tx(write=False):  # refused before and inside registration: no trace
        assert await sc.count(Visitor) == 0
        assert await sc.count(StaffUser).where(StaffUser.username == "online-petition") == 0
    # As typed (htmx): the format only, by POST.
    token = csrf((await client.get(f"/t/{t.slug}/submit", headers=HTML)).text)
    check = f"/t/{t.slug}/submit/check"
    r = await client.post(
        check, params={"field": "visitor.id_number"},
        data={"visitor.id_number": bad, "_csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 200 and "校验位" in r.text and 'class="bad"' in r.text
    r = await client.post(
        check, params={"field": "visitor.id_number"},
        data={"visitor.id_number": ID, "_csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 200 and "1985年5月5日出生" in r.text
    r = await client.post(
        check, params={"field": "visitor.name"}, data={"visitor.name": "x", "_csrf_token": token}
    )
    assert r.status_code == 422
    r = await submit(client, t.slug, petition(**{"visitor.phone": ""}))
    assert r.status_code == 422 and 'id="err-f-visitor-phone"' in r.text
    r = await submit(client, t.slug, petition(cause=""))
    assert r.status_code == 422 and "请填写事由" in r.text
    # Fields the public may not set are ignored, not obeyed.
    r = await submit(client, t.slug, petition(answered_on_spot="已答复", channel="visit"))
    assert r.status_code == 200
    rows = await cases_of(rt, t)
    assert [(c["channel"], c["status"]) for c in rows] == [("online", "registered")]
    sc = t.scope(rt)
    async with sc.tx(write=False):
        assert await sc.count(Visitor) == 1
        assert await sc.count(StaffUser).where(StaffUser.username == "online-petition") == 1


async def test_honeypot_csrf_size_and_unknown_tenant(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    r = await submit(client, t.slug, petition(homepage="http://spam.example"))
    assert r.status_code == 200 and "已收到" in r.text and "receipt-code" not in r.text
    # No token: refused before anything happens.
    r = await client.post(f"/t/{t.slug}/submit", data=petition(), headers=HTML)
    assert r.status_code == 403
    page = await client.get(f"/t/{t.slug}/submit", headers=HTML)
    r = await client.post(
        f"/t/{t.slug}/submit",
        data={**petition(cause="长" * 40000), "_csrf_token": csrf(page.text)},
        headers=HTML,
    )
    assert r.status_code == 413
    assert await cases_of(rt, t) == []
    for path in ("board", "lookup", "submit", "board?display=1"):
        r = await client.get(f"/t/no-such-tenant/{path}", headers=HTML)
        assert r.status_code == 404 and "机构不存在" in r.text, path
        assert "退出登录" not in r.text and 'aria-label="主导航"' not in r.text


async def test_submissions_are_rate_limited_per_address(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    for i in range(public_throttle.SUBMITS_PER_ADDRESS):
        r = await submit(client, t.slug, petition(cause=f"第 {i} 件：路灯损坏"))
        assert r.status_code == 200, r.text
    r = await submit(client, t.slug, petition(cause="再一件"))
    assert r.status_code == 429 and "提交过于频繁" in r.text and "retry-after" in r.headers
    assert len(await cases_of(rt, t)) == public_throttle.SUBMITS_PER_ADDRESS


# --- board ----------------------------------------------------------------------------


async def test_board_shows_published_slots_only(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = {
        "key": "daily",
        "title_zh": "领导信访接待日",
        "pattern": "weekly",
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "place": "一楼接待大厅",
        "topics": ["供热", "物业"],
        "leaders": [t.users["leader"]["id"]],
        "holiday_policy": "keep",
        "horizon_weeks": 2,
    }
    r = await client.post("/api/v1/rota/templates", json=body, headers=t.headers("admin"))
    assert r.status_code == 201, r.text
    assert (
        await client.post("/api/v1/rota/generate", headers=t.headers("admin"))
    ).status_code == 200
    draft = await client.get(f"/t/{t.slug}/board", headers=HTML)
    assert draft.status_code == 200 and "leader-user" not in draft.text
    r = await client.post("/api/v1/rota/publish", json={}, headers=t.headers("admin"))
    assert r.status_code == 200, r.text
    board = await client.get(f"/t/{t.slug}/board", headers=HTML)
    assert board.status_code == 200
    assert "leader-user" in board.text and "一楼接待大厅" in board.text and "供热" in board.text
    assert f'href="/t/{t.slug}/schedule.ics"' in board.text
    assert 'aria-label="主导航"' not in board.text  # no staff frame
    lobby = await client.get(f"/t/{t.slug}/board", params={"display": "1"}, headers=HTML)
    assert lobby.status_code == 200
    assert 'hx-trigger="every 300s, refresh"' in lobby.text
    assert "今日接访" in lobby.text and "<nav" not in lobby.text


async def test_public_pages_need_nothing_the_policy_forbids(client: Any, make_tenant: Any) -> None:
    """No inline script or style (the CSP forbids them), assets only from /static, and
    none of the staff frame."""
    t = await make_tenant(plugins=("enterprise_logistics",))
    for path in ("board", "board?display=1", "lookup", "submit", "submit/fields?category=heating"):
        page = await client.get(f"/t/{t.slug}/{path}", headers=HTML)
        assert page.status_code == 200, path
        html = page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), path
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.I), path
        for url in re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', html, re.I):
            assert url.startswith("/static/"), (path, url)
        assert "/logout" not in html and "/admin" not in html, path


async def test_a_final_matter_is_not_named_to_the_public(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    """The desk is told the receipt code of the final matter a new one repeats; a public
    form, where anyone may type anyone's ID number, is not."""
    from tests.integration.test_lifecycle import body, register
    from tests.integration.test_repeats_and_accused import drive_to_final

    t = await make_tenant()
    first = await register(client, t, locality="")
    final = await drive_to_final(client, t, first["id"])
    person = body()["visitor"]
    r = await submit(
        client,
        t.slug,
        petition(
            **{
                "visitor.name": person["name"],
                "visitor.id_number": person["id_number"],
                "visitor.phone": person["phone"],
                "cause": body()["cause"],
            }
        ),
    )
    assert r.status_code == 409, r.text
    assert "无法通过网上信访受理" in r.text
    assert final["receipt_code"] not in r.text and "复核" not in r.text
    assert len(await cases_of(rt, t)) == 1


async def test_transfers_name_the_organization_never_the_department(
    client: Any, make_tenant: Any
) -> None:
    from tests.integration.test_lifecycle import act

    bureau, utility = await make_tenant(), await make_tenant()
    inner = await register(client, bureau)
    await act(client, bureau, inner["id"], "transfer", "clerk",
              to_department_id=bureau.departments["handling"], note="内部：请处理")  # fmt: skip
    got = (await lookup(client, bureau.slug, inner["receipt_code"], "5678")).json()
    assert got["milestones"][-1] == {
        "kind": "in_progress", "on": got["received_on"], "title": "已交本机构承办部门办理"
    }  # fmt: skip
    assert "handling" not in json.dumps(got, ensure_ascii=False)

    outer = await register(client, bureau)
    out = await act(client, bureau, outer["id"], "transfer", "clerk", to_tenant=utility.slug)
    got = (await lookup(client, bureau.slug, outer["receipt_code"], "5678")).json()
    theirs = out["events"][-1]["data"]["their_receipt_code"]
    assert got["status"] == "transferring"
    assert got["milestones"][-1]["kind"] == "transferred"
    assert f"已转送至{utility.info.name}" in got["milestones"][-1]["title"]
    assert theirs in got["milestones"][-1]["title"]
    # The receiver's code works at the receiver, with the same phone.
    there = (await lookup(client, utility.slug, theirs, "5678")).json()
    assert [m["kind"] for m in there["milestones"]] == ["transfer_received"]
    assert there["milestones"][0]["title"] == f"收到{bureau.info.name}转送"
    await act(client, utility, there_id(await client.get(
        "/api/v1/cases", headers=utility.headers())), "accept_transfer", "clerk")  # fmt: skip
    back = (await lookup(client, bureau.slug, outer["receipt_code"], "5678")).json()
    assert back["status"] == "transferred"
    assert back["milestones"][-1]["title"] == f"{utility.info.name}已接收转送"


def there_id(listing: Any) -> int:
    items = listing.json()["items"]
    assert len(items) == 1
    return int(items[0]["id"])
