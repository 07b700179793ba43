"""Bad input over HTTP (issue 10): every input class a fuzzer or a person found crashing a
handler, or slipping through, answers a 4xx with a code, the field and a message."""

from __future__ import annotations

import base64
import io
import logging
import re
from datetime import date, timedelta
from typing import Any

import pytest

from core.services import open311
from tests.conftest import PASSWORD
from tests.integration.test_bad_input import counts, err
from tests.integration.test_platform_api import case_body

BIG = 2**31


async def csrf_of(client: Any) -> str:
    page = await client.get("/login")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


# --- 6. OPTIONS ------------------------------------------------------------------------


async def test_options_answers_204_with_allow_never_500(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    resp = await client.options("/api/v1/cases")
    assert resp.status_code == 204, resp.text
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["allow"].split(",")}
    preflight = await client.options(
        f"/api/v1/cases/{BIG - 1}",
        headers={
            "Origin": "https://example.cn",
            "Access-Control-Request-Method": "GET",
            **t.headers(),
        },
    )
    assert preflight.status_code == 204 and "GET" in preflight.headers["allow"]
    schema = (await client.get("/schema/openapi.json")).json()
    for path in schema["paths"]:
        url = re.sub(r"\{[^}]+\}", "1", path)
        resp = await client.options(url)
        assert resp.status_code in (204, 405), (url, resp.status_code, resp.text)
        assert "scope" not in resp.text and "user" not in resp.text


# --- 7. input classes that crashed a handler ----------------------------------------------


async def test_ids_beyond_the_column_range_are_refused_with_the_field(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    h = t.headers("admin")
    for url, field in [
        (f"/api/v1/cases/{BIG}", "case_id"),
        (f"/api/v1/visitors/{2**63}/archive", "visitor_id"),
        (f"/api/v1/departments/{-1}", "department_id"),
        (f"/api/v1/cases?after={BIG}", "after"),
        (f"/api/v1/inbox?before={2**64}", "before"),
    ]:
        resp = await client.get(url, headers=h)
        assert resp.status_code == 422, (url, resp.text)
        e = err(resp)
        assert e["field"] == field and e["code"] == "out_of_range", e
        assert "2147483647" in e["message"] or "1" in e["message"]
    for body, field in [
        (case_body(department_id=BIG), "department_id"),
        (case_body(session_id=2**63), "session_id"),
        (case_body(visitor=None, visitor_id=BIG), "visitor_id"),
        (
            case_body(legal_category="accusation", accused={"user_ids": [BIG]}),
            "accused.user_ids[0]",
        ),
    ]:
        resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
        assert resp.status_code == 422, (field, resp.text)
        assert err(resp)["field"] == field
    resp = await client.post(
        "/api/v1/rota/leave",
        json={"first_day": "2026-01-01", "last_day": "2026-01-02", "user_id": BIG},
        headers=h,
    )
    assert resp.status_code == 422 and err(resp)["field"] == "user_id"
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_nul_characters_are_refused_everywhere(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    resp = await client.post(
        "/api/v1/cases", json=case_body(cause="暖气\x00不热"), headers=t.headers()
    )
    assert resp.status_code == 422, resp.text
    e = err(resp)
    assert (e["code"], e["field"]) == ("nul_character", "cause")
    nested = case_body()
    nested["visitor"]["name"] = "张\x00三"
    e = err(await client.post("/api/v1/cases", json=nested, headers=t.headers()))
    assert e["field"] == "visitor.name"
    resp = await client.get("/api/v1/visitors", params={"phone": "138\x00"}, headers=t.headers())
    assert resp.status_code == 422 and err(resp)["field"] == "phone"
    for url in (
        "/t/a%00b/schedule.json",
        "/t/a%00b/schedule.ics",
        "/open311/a%00b/v2/services.json",
        f"/open311/{t.slug}/v2/services/gen%00eral.json",
        f"/open311/{t.slug}/v2/requests.json?service_request_id=A%00B",
    ):
        resp = await client.get(url)
        assert 400 <= resp.status_code < 500, (url, resp.status_code, resp.text)
    resp = await client.get("/t/a%00b/schedule.json")
    assert err(resp)["field"] == "tenant"
    body = resp = await client.get("/open311/a%00b/v2/services.json")
    assert body.json()[0]["field"] == "tenant" and body.json()[0]["description"]
    csrf = await csrf_of(client)
    resp = await client.post(
        "/login",
        data={
            "tenant": t.slug + "\x00",
            "username": "clerk",
            "password": PASSWORD,
            "_csrf_token": csrf,
        },
    )
    assert resp.status_code == 422, resp.text
    assert err(resp)["field"] == "tenant"
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_far_dates_are_refused_with_the_window(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for params, field in [
        ({"clock": "handle", "start": "9999-12-20"}, "start"),
        ({"clock": "handle", "start": "0001-01-01"}, "start"),
        ({"clock": "handle", "start": "2026-01-05", "paused": "9999-12-01:9999-12-31"}, "paused"),
        ({"clock": "handle", "start": "2026-01-05", "paused": "0001-01-01:9999-12-31"}, "paused"),
    ]:
        resp = await client.get("/api/v1/deadlines/explain", params=params, headers=t.headers())
        assert resp.status_code == 422, (params, resp.text)
        e = err(resp)
        assert e["field"] == field and e["code"] == "date_out_of_range", e
        assert "2000-01-01" in e["message"] and "2099-12-31" in e["message"]
    for when in (
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59+08:00",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00+08:00",
        "2000-06-01T09:00:00+08:00",
    ):
        resp = await client.post(
            "/api/v1/cases", json=case_body(received_at=when), headers=t.headers()
        )
        assert resp.status_code == 422, (when, resp.text)
        e = err(resp)
        assert e["field"] == "received_at", e
    assert await counts(t.id) == (0, 0, 0, 0)


def test_deadline_explain_cli_refuses_far_dates_without_traceback(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from core.cli import main

    runner = CliRunner()
    env = {"XINFANG_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    for args in (
        ["--clock", "handle", "--start", "9999-12-20"],
        ["--clock", "handle", "--start", "2026-01-05", "--paused", "9999-12-01:9999-12-31"],
    ):
        result = runner.invoke(main, ["deadline", "explain", *args], env=env)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and result.exception is not None
        assert isinstance(result.exception, SystemExit)
        assert "2099-12-31" in result.output and "date_out_of_range" in result.output


async def test_invalid_utf8_and_deep_json_are_client_errors(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    key = await open311.create_key(t.scope(rt))
    json_ct = {"content-type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_in_field = b'{"channel": "visit", "cause": "x", "form": {"a": ' + deep + b"}}"
    for payload in (b'{"channel": "visit", "cause": "\xff\xfe"}', deep, deep_in_field):
        resp = await client.post(
            "/api/v1/cases", content=payload, headers={**t.headers(), **json_ct}
        )
        assert resp.status_code == 400, resp.text
        assert err(resp)["code"] in ("malformed_json", "too_deep", "invalid_utf8")
    resp = await client.post(
        "/api/v1/cases", content=deep_in_field, headers={**t.headers(), **json_ct}
    )
    assert err(resp)["code"] == "too_deep"
    url = f"/open311/{t.slug}/v2/requests.json?api_key={key}"
    for payload, ct in (
        (deep, json_ct),
        (b'{"service_code": "general", "description": "\xff"}', json_ct),
        (b"service_code=general&description=%FF%FE", {}),
        (b"service_code=general&description=\xff\xfe", {}),
    ):
        ct = ct or {"content-type": "application/x-www-form-urlencoded"}
        resp = await client.post(url, content=payload, headers=ct)
        assert resp.status_code == 400, (payload[:40], resp.status_code, resp.text)
        assert resp.json()[0]["description"]
    resp = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        content=b'{"config": {"departments": ' + deep + b"}}",
        headers={**t.headers("admin"), **json_ct},
    )
    assert resp.status_code == 400 and err(resp)["code"] == "too_deep"
    csrf = await csrf_of(client)
    resp = await client.post(
        "/login",
        content=b"tenant=\xff&username=clerk&password=x&_csrf_token=" + csrf.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 400, resp.text
    assert await counts(t.id) == (0, 0, 0, 0)


def _forged(tail: bytes) -> str:
    """A cookie shaped like Litestar's (nonce, ciphertext, AAD marker, JSON) but not one."""
    return base64.b64encode(
        b"n" * 12 + b"c" * 20 + b"additional_authenticated_data=" + tail
    ).decode()


@pytest.mark.parametrize(
    "cookie",
    [
        _forged(b"not json"),
        _forged(b"[1, 2]"),
        _forged(b'{"expires_at": "tomorrow"}'),
        _forged(b'{"other": 1}'),
        _forged(b'{"expires_at": 99999999999}'),
        "garbage",
        "bm90IGEgc2Vzc2lvbg==",
        "e30=.x.y",
        "%00%ff",
        "a" * 3000,
        "null",
        "W10=",
    ],
)
async def test_a_malformed_session_cookie_is_no_session(
    client: Any, make_tenant: Any, cookie: str
) -> None:
    t = await make_tenant()
    client.cookies.set("xf_session", cookie)
    assert (await client.get("/api/v1/me", headers=t.headers())).status_code == 200
    resp = await client.get("/api/v1/me")
    assert resp.status_code == 401 and err(resp)["code"] == "not_authenticated"
    assert (await client.get("/login")).status_code == 200
    home = await client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert home.status_code in (302, 303, 307)
    # Not locked out: logging in replaces the bad cookie with a good one.
    client.cookies.set("xf_session", cookie)
    csrf = await csrf_of(client)
    resp = await client.post(
        "/login",
        data={
            "tenant": t.slug,
            "username": "clerk",
            "password": PASSWORD,
            "next": "/",
            "_csrf_token": csrf,
        },
    )
    assert resp.status_code == 303, resp.text
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_open311_json_fields_are_typed(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    key = await open311.create_key(t.scope(rt))
    url = f"/open311/{t.slug}/v2/requests.json"
    good = {
        "api_key": key,
        "service_code": "general",
        "description": "路灯不亮",
        "first_name": "建国",
        "last_name": "张",
        "phone": "13800138000",
    }
    for field, value in [
        ("service_code", 5),
        ("description", {"a": 1}),
        ("first_name", ["建国"]),
        ("phone", 13800138000),
        ("email", True),
        ("attribute", [1, 2]),
        ("attribute", {"building": {"x": 1}}),
        ("lat", True),
    ]:
        resp = await client.post(url, json={**good, field: value})
        assert resp.status_code in (400, 422), (field, resp.status_code, resp.text)
        e = resp.json()[0]
        assert e["field"].startswith(field) and e["description"], e
    resp = await client.post(
        url, content=b'{"service_code": "general",', headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400 and resp.json()[0]["description"]
    resp = await client.post(url, json=[good])
    assert resp.status_code in (400, 422) and resp.json()[0]["description"]
    assert await counts(t.id) == (0, 0, 0, 0)
    # null is “not given”, as GeoReport clients send it for empty fields
    assert (await client.post(url, json={**good, "address_string": None})).status_code == 201


# --- 8. accepted but should be refused ----------------------------------------------------


async def test_open311_coordinates_and_description_are_validated(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    t = await make_tenant()
    key = await open311.create_key(t.scope(rt))
    url = f"/open311/{t.slug}/v2/requests.json"
    good = {
        "api_key": key,
        "service_code": "general",
        "description": "路灯不亮",
        "first_name": "建国",
        "last_name": "张",
        "phone": "13800138000",
    }
    for field, value in [
        ("lat", "abc"),
        ("lat", "NaN"),
        ("long", "1e999"),
        ("lat", "999"),
        ("long", "-180.5"),
        ("lat", "inf"),
    ]:
        for send in ("form", "json"):
            body = {**good, field: value}
            resp = await (
                client.post(url, data=body) if send == "form" else client.post(url, json=body)
            )
            assert resp.status_code == 422, (field, value, send, resp.text)
            e = resp.json()[0]
            limit = "90" if field == "lat" else "180"
            assert e["field"] == field and limit in e["description"], e
    resp = await client.post(
        url,
        content=b'{"service_code": "general", "lat": 1e999}',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400 and resp.json()[0]["description"]
    resp = await client.post(url, data={**good, "description": "长" * 100_000})
    assert resp.status_code == 422
    e = resp.json()[0]
    assert e["field"] == "description" and "5000" in e["description"]
    assert await counts(t.id) == (0, 0, 0, 0)
    ok = await client.post(url, data={**good, "lat": "39.9042", "long": "116.4074"})
    assert ok.status_code == 201, ok.text
    ok = await client.post(url, json={**good, "lat": -33.86, "long": 151.2})
    assert ok.status_code == 201, ok.text


async def test_received_at_window(client: Any, make_tenant: Any, rt: Any) -> None:
    t = await make_tenant()
    now = rt.clock.now()
    year_ago = now - timedelta(days=400)
    resp = await client.post(
        "/api/v1/cases", json=case_body(received_at=year_ago.isoformat()), headers=t.headers()
    )
    assert resp.status_code == 422
    e = err(resp)
    assert (e["code"], e["field"]) == ("received_out_of_range", "received_at")
    assert "一年" in e["message"] or "365" in e["message"]
    recent = now - timedelta(days=30)
    resp = await client.post(
        "/api/v1/cases", json=case_body(received_at=recent.isoformat()), headers=t.headers()
    )
    assert resp.status_code == 201, resp.text


async def test_sessions_and_leave_are_dated_near_today(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    session = {"half": "am", "starts_at": "09:00", "ends_at": "11:30", "place": "接待室"}
    for day in ("0001-01-01", "9999-12-31", "1990-01-01"):
        resp = await client.post(
            "/api/v1/sessions", json={**session, "day": day}, headers=t.headers("admin")
        )
        assert resp.status_code == 422, (day, resp.text)
        e = err(resp)
        assert (e["code"], e["field"]) == ("date_out_of_range", "day"), e
        assert "至" in e["message"] and day in e["message"]
    for first, last, field in [
        ("0001-01-01", "0001-01-02", "first_day"),
        ("2026-01-01", "9999-12-31", "last_day"),
    ]:
        resp = await client.post(
            "/api/v1/rota/leave",
            json={"first_day": first, "last_day": last},
            headers=t.headers("leader"),
        )
        assert resp.status_code == 422, resp.text
        e = err(resp)
        assert (e["code"], e["field"]) == ("date_out_of_range", field), e


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200c\ufeff", "   ", "\u3000", "\u2060\u00ad"])
async def test_names_of_only_invisible_characters_are_refused(
    client: Any, make_tenant: Any, rt: Any, blank: str
) -> None:
    t = await make_tenant()
    body = case_body()
    body["visitor"]["name"] = blank
    resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
    assert resp.status_code == 422, resp.text
    e = err(resp)
    assert (e["code"], e["field"]) == ("blank_name", "visitor.name"), e
    resp = await client.post(
        "/api/v1/users",
        json={
            "username": "newbie",
            "display_name": blank,
            "password": PASSWORD,
            "roles": ["clerk"],
        },
        headers=t.headers("admin"),
    )
    assert resp.status_code == 422 and err(resp)["field"] == "display_name"
    resp = await client.post(
        "/api/v1/departments", json={"code": "x", "name": blank}, headers=t.headers("admin")
    )
    assert resp.status_code == 422 and err(resp)["field"] == "name"
    key = await open311.create_key(t.scope(rt))
    resp = await client.post(
        f"/open311/{t.slug}/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "general",
            "description": "路灯不亮",
            "first_name": blank,
            "phone": "13800138000",
        },
    )
    assert resp.status_code == 422 and resp.json()[0]["field"] in ("first_name", "last_name")
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_strings_are_not_coerced_to_numbers(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for body, field in [
        (case_body(headcount="1"), "headcount"),
        (case_body(skip_level="true"), "skip_level"),
        (case_body(department_id=str(t.departments["petition"])), "department_id"),
    ]:
        resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
        assert resp.status_code == 422, resp.text
        e = err(resp)
        assert (e["code"], e["field"]) == ("wrong_type", field), e
    resp = await client.post("/api/v1/me/tokens", json={"ttl_days": "30"}, headers=t.headers())
    assert resp.status_code == 422 and err(resp)["field"] == "ttl_days"
    # Query and path parameters are text by nature and still convert.
    assert (await client.get("/api/v1/cases?limit=5", headers=t.headers())).status_code == 200


async def test_unknown_plugin_setting_keys_are_refused(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("enterprise_logistics", "court", "police"))
    for name, config, field in [
        ("enterprise_logistics", {"temp_standard": 18, "colour": "red"}, "colour"),
        ("court", {"departments": {"filing": "petition"}, "x": 1}, "x"),
        ("police", {"inspection_code": "inspection", "typo_code": "a"}, "typo_code"),
    ]:
        resp = await client.put(
            f"/api/v1/admin/plugins/{name}", json={"config": config}, headers=t.headers("admin")
        )
        assert resp.status_code == 422, resp.text
        e = err(resp)
        assert (e["code"], e["field"]) == ("unknown_setting", field), e
        assert field in e["message"]
    resp = await client.put(
        "/api/v1/admin/plugins/enterprise_logistics",
        json={"config": {"temp_standard": 20}},
        headers=t.headers("admin"),
    )
    assert resp.status_code == 200 and resp.json()["config"]["temp_standard"] == 20


# --- 9. unknown Open311 service -----------------------------------------------------------


async def test_unknown_open311_service_is_404(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("court",))
    for ext in ("json", "xml"):
        resp = await client.get(f"/open311/{t.slug}/v2/services/heating.{ext}")
        assert resp.status_code == 404, resp.text
    assert (await client.get(f"/open311/{t.slug}/v2/services/nothing.json")).json()[0][
        "code"
    ] == 404
    assert (await client.get(f"/open311/{t.slug}/v2/services/appeal.json")).status_code == 200


# --- 10. headers and logs -----------------------------------------------------------------


async def test_feeds_send_charset_once(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for path, kind in (("schedule.ics", "text/calendar"), ("schedule.json", "application/json")):
        resp = await client.get(f"/t/{t.slug}/{path}")
        assert resp.status_code == 200
        ctype = resp.headers["content-type"]
        assert ctype.startswith(kind) and ctype.lower().count("charset") <= 1, ctype
    token = (await client.post("/api/v1/rota/feed-token", headers=t.headers("leader"))).json()
    resp = await client.get(token["path"])
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_control_characters_never_reach_the_log_raw(
    client: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request path with CR/LF that makes a handler fail is logged on one line."""
    from core import logs, logsafe
    from core.services import rota

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\r\nERROR forged by exception text")

    monkeypatch.setattr(rota, "public_schedule", broken)
    out = io.StringIO()
    handler = logging.StreamHandler(out)  # the filters core.logs puts on every handler
    handler.setFormatter(logging.Formatter(logsafe.FORMAT))
    handler.addFilter(logs.RedactFilter())
    handler.addFilter(logsafe.EscapeControl())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        resp = await client.get("/t/a%0d%0aERROR%20forged%20line/schedule.json")
        logging.getLogger("xinfang.test").error(
            "boom %s", "x\r\nERROR forged", exc_info=RuntimeError("y\nERROR forged")
        )
    finally:
        root.removeHandler(handler)
    assert resp.status_code in (404, 500)
    lines = out.getvalue().splitlines()
    assert lines, "the failure was logged"
    assert not [line for line in lines if line.startswith("ERROR forged")], lines
    assert any("\\r\\nERROR forged" in line for line in lines), lines


# --- 8. calendar import -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("year1.json", b'{"year": 1, "days": [{"date": "0001-01-01", "kind": "holiday"}]}', "2099"),
        (
            "unknown.json",
            b'{"year": 2027, "days": [{"date": "2027-01-01", "kind": "holiday", "colour": 1}]}',
            "colour",
        ),
        ("extra-column.csv", b"date,kind,name,colour\n2027-01-01,holiday,x,red\n", "colour"),
        ("one-entry.csv", b"date,kind,name\n2027-01-19,holiday,x\n", "11"),
        (
            "all-holidays.csv",
            (
                "date,kind,name\n"
                + "".join(
                    f"{date(2027, 1, 1) + timedelta(days=i)},holiday,假\n" for i in range(365)
                )
            ).encode(),
            "45",
        ),
        ("nul.csv", b"date,kind,name\n2027-01-01,holiday,\x00\n", "\\0"),
        ("latin1.csv", "date,kind,name\n2027-01-01,holiday,Fête\n".encode("latin-1"), "UTF-8"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "JSON"),
        (
            "deep-field.json",
            b'{"days": [{"date": "2027-01-01", "kind": "holiday", "name": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}]}",
            "name",
        ),
        (
            "long-name.csv",
            ("date,kind,name\n2027-01-01,holiday," + "节" * 64 + "\n").encode(),
            "63",
        ),
    ],
)
def test_calendar_import_refuses_bad_files_without_traceback(
    tmp_path: Any, name: str, content: bytes, expect: str
) -> None:
    from click.testing import CliRunner

    from core.cli import main

    path = tmp_path / name
    path.write_bytes(content)
    env = {"XINFANG_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": None, "REDIS_URL": None}
    result = CliRunner().invoke(main, ["calendar", "import", str(path)], env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a refusal, not a crash
    assert "Traceback" not in result.output and "invalid_calendar_file" in result.output
    assert expect in result.output, result.output
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
