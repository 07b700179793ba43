"""The reception desk's form handler in process: CSRF, roles, a refusal re-renders the
form (422, values kept, message at the field, nothing saved), success is 303 to the new
case; the as-you-type checks answer by POST and never name a matter hidden from the user."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD, valid_id_number
from tests.integration.test_pages_and_cli import _login
from tests.integration.test_platform_api import case_body

pytestmark = pytest.mark.asyncio
HTML = {"accept": "text/html"}
ID = valid_id_number(birth="19800101", seq=123)  # odd sequence digit: male


def form(**over: str) -> dict[str, str]:
    data = {
        "channel": "visit",
        "visitor.name": "张三",
        "visitor.id_number": ID,
        "visitor.phone": "13812345678",
        "visitor.address": "",
        "category": "general",
        "purpose": "personal",
        "legal_category": "claim",
        "locality": "朝阳区",
        "headcount": "1",
        "cause": "暖气不热，室温只有 15 度",
        "demand": "",
        "answered_on_spot": "",
    }
    data.update(over)
    return data


async def desk(client: Any, slug: str, role: str = "clerk") -> str:
    """Log in as ``role`` and open the desk; the CSRF token of the page."""
    assert (await _login(client, slug, role, PASSWORD)).status_code == 303
    page = await client.get("/cases/new", headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def count(client: Any, t: Any) -> int:
    r = await client.get("/api/v1/cases", params={"limit": 200}, headers=t.headers())
    assert r.status_code == 200
    return len(r.json()["items"])


async def test_the_page_is_for_registrars_and_names_inputs_by_json_path(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    await desk(client, t.slug)
    page = (await client.get("/cases/new", headers=HTML)).text
    for name in ("channel", "visitor.name", "visitor.id_number", "cause", "headcount"):
        assert f'name="{name}"' in page, name
    assert re.search(r'<input id="f-visitor-name"[^>]*\bautofocus\b', page)
    assert re.search(r'<option value="visit" selected>来访</option>', page)
    assert 'href="/cases/new"' in page  # the nav link, for registrars

    other = client.__class__(transport=client._transport, base_url=client.base_url)
    async with other:
        assert (await _login(other, t.slug, "handler", PASSWORD)).status_code == 303
        assert (await other.get("/cases/new", headers=HTML)).status_code == 403
        home = await other.get("/", headers=HTML)
        assert 'href="/cases/new"' not in home.text


async def test_post_needs_the_csrf_token_and_a_registrar(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await desk(client, t.slug)
    refused = await client.post("/cases/new", data=form(), headers=HTML)
    assert refused.status_code == 403
    assert await count(client, t) == 0

    other = client.__class__(transport=client._transport, base_url=client.base_url)
    async with other:
        assert (await _login(other, t.slug, "handler", PASSWORD)).status_code == 303
        await other.get("/login")  # the CSRF cookie
        handler_token = other.cookies.get("xf_csrf")
        assert handler_token
        r = await other.post(
            "/cases/new", data={**form(), "_csrf_token": handler_token}, headers=HTML
        )
        assert r.status_code == 403 and "接访人员" in r.text
    assert token and await count(client, t) == 0


async def test_a_refusal_comes_back_with_the_values_and_the_message_at_its_field(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    token = await desk(client, t.slug)
    bad = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    r = await client.post(
        "/cases/new",
        data={**form(**{"visitor.id_number": bad, "demand": "尽快维修"}), "_csrf_token": token},
        headers=HTML,
    )
    assert r.status_code == 422, r.text
    html = r.text
    assert 'id="err-f-visitor-id_number"' in html and "校验位不正确" in html
    assert re.search(r'<input id="f-visitor-id_number"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input id="f-visitor-id_number"[^>]*\bautofocus\b', html)
    assert f'value="{bad}"' in html and "尽快维修" in html and 'value="张三"' in html
    assert 'class="error-summary"' in html and 'href="#f-visitor-id_number"' in html
    assert await count(client, t) == 0

    # msgspec's refusal (a missing required field) reads with the field's label.
    r = await client.post("/cases/new", data={**form(cause=""), "_csrf_token": token}, headers=HTML)
    assert r.status_code == 422
    assert 'id="err-f-cause"' in r.text and "请填写事由。" in r.text
    # A group visit without representatives: the message stands at the first row.
    r = await client.post(
        "/cases/new", data={**form(headcount="6"), "_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 422
    assert 'id="err-f-representatives-0-name"' in r.text and "不超过 5 人" in r.text
    assert await count(client, t) == 0


async def test_success_is_303_to_the_new_case(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await desk(client, t.slug)
    r = await client.post(
        "/cases/new",
        data={
            **form(headcount="6"),
            "representatives[0].name": "",
            "representatives[1].name": "李四",
            "representatives[1].phone": "13900001111",
            "_csrf_token": token,
        },
        headers=HTML,
    )
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/cases/(\d+)\?registered=1", r.headers["location"])
    assert found
    case = (await client.get(f"/api/v1/cases/{found.group(1)}", headers=t.headers())).json()
    assert case["visitor"]["name"] == "张三" and case["is_group"] is True
    assert [p["name"] for p in case["representatives"]] == ["李四"]
    page = await client.get(r.headers["location"], headers=HTML)
    assert "登记成功" in page.text and case["receipt_code"] in page.text


async def test_checks_answer_by_post_and_list_only_matters_the_user_may_see(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    seen = await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    hidden = await client.post(
        "/api/v1/cases",
        json=case_body(
            cause="检举接访人员",
            legal_category="accusation",
            accused={"user_ids": [t.users["clerk"]["id"]]},
        ),
        headers=t.headers("supervisor"),
    )
    assert seen.status_code == hidden.status_code == 201, hidden.text
    token = await desk(client, t.slug)
    headers = {**HTML, "x-csrftoken": token, "hx-request": "true"}
    url = "/cases/new/check?field=visitor.id_number"
    r = await client.post(url, data={"visitor.id_number": ID}, headers=headers)
    assert r.status_code == 200
    assert "有效：1980年1月1日出生，男" in r.text
    assert "重复访" in r.text and seen.json()["receipt_code"] in r.text
    assert hidden.json()["receipt_code"] not in r.text and "1 件" in r.text

    r = await client.post(url, data={"visitor.id_number": "1101"}, headers=headers)
    assert "应为18位" in r.text and "重复访" not in r.text
    by_phone = await client.post(
        "/cases/new/check?field=visitor.phone",
        data={"visitor.phone": "138 1234 5678"},
        headers=headers,
    )
    assert seen.json()["receipt_code"] in by_phone.text
    assert hidden.json()["receipt_code"] not in by_phone.text
    # Never a GET (a number in a URL), never without the token, never an unknown field.
    assert (await client.get(url, headers=HTML)).status_code == 405
    assert (await client.post(url, data={"visitor.id_number": ID})).status_code == 403
    odd = await client.post("/cases/new/check?field=cause", data={}, headers=headers)
    assert odd.status_code == 422


async def test_fragments_for_plugin_fields_and_representatives(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    token = await desk(client, t.slug)
    fields = await client.get("/cases/new/fields", params={"category": "heating"}, headers=HTML)
    assert fields.status_code == 200
    for name in ("form.estate", "form.building", "form.indoor_temp"):
        assert f'name="{name}"' in fields.text
    assert 'name="form' not in (await client.get("/cases/new/fields", headers=HTML)).text
    reps = await client.post(
        "/cases/new/representatives",
        data={"headcount": "6", "representatives[0].name": "李四"},
        headers={**HTML, "x-csrftoken": token},
    )
    assert reps.status_code == 200
    assert reps.text.count('name="representatives[') == 15 and 'value="李四"' in reps.text
    assert "不超过 5 人" in reps.text
    none = await client.post(
        "/cases/new/representatives", data={"headcount": "4"}, headers={"x-csrftoken": token}
    )
    assert "representatives[" not in none.text


async def test_a_plugin_fields_refusal_stands_at_it_and_the_page_needs_no_inline_code(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    token = await desk(client, t.slug)
    r = await client.post(
        "/cases/new",
        data={**form(category="heating"), "form.estate": "幸福小区", "_csrf_token": token},
        headers=HTML,
    )
    assert r.status_code == 422, r.text
    html = r.text
    assert 'id="err-f-form-building"' in html and "请填写“楼号”" in html
    assert re.search(r'<input id="f-form-building"[^>]*\bautofocus\b', html)
    assert 'value="幸福小区"' in html and '<option value="heating" selected>' in html
    assert await count(client, t) == 0
    # script-src/style-src 'self': no inline script, style or handler (test_headers.py).
    for page in (html, (await client.get("/cases/new", headers=HTML)).text):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page, re.I)
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", page, re.I)
        for url in re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', page, re.I):
            assert url.startswith("/static/"), url


async def test_a_refusal_without_an_input_on_the_page_is_told_in_the_summary(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    token = await desk(client, t.slug)
    r = await client.post(
        "/cases/new",
        data={**form(), "received_at": "2000-01-01T08:00:00+08:00", "_csrf_token": token},
        headers=HTML,
    )
    assert r.status_code == 422
    assert re.search(r'<div class="error-summary" id="summary"[^>]*\bautofocus\b', r.text)
    assert "近一年内" in r.text and 'class="field-error"' not in r.text


async def test_representatives_numbers_are_checked_too(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = await desk(client, t.slug)
    r = await client.post(
        "/cases/new/check?field=representatives%5B1%5D.id_number",
        data={"representatives[1].id_number": valid_id_number(birth="19900215", seq=124)},
        headers={**HTML, "x-csrftoken": token},
    )
    assert r.status_code == 200
    assert "有效：1990年2月15日出生，女" in r.text and "desk-repeat" not in r.text
