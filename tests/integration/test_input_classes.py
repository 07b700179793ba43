"""Every input class that once crashed a handler, sent to every route (issue 10, proof 1).

The routes come from the app's own OpenAPI schema (``/schema/openapi.json``): for each
path and method the test fills path parameters, query parameters and a JSON body from
the schema (seeded with a valid body where the schema alone cannot make one), then sends
one request per (route × input): each integer replaced by ids beyond PostgreSQL
``integer`` and negative ones, each string given a NUL, each date moved to the years 1
and 9999, an invalid UTF-8 body and query, JSON nested 100,000 deep (as the body and in
each free-form object), and malformed session cookies. The HTML pages and the public
routes outside the schema (/login, /, /logout, Open311 POST bodies) get the same
classes. Callers are authenticated: a bearer token of a user holding every role, or a
real login session for the pages. Nothing may answer 5xx; every 4xx carries the error
shape (``{"error": {code, message}}``, or GeoReport's ``[{code, description}]``).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from core.principal import ROLES
from core.services import open311, users
from tests.conftest import PASSWORD
from tests.integration.test_platform_api import case_body

BAD_IDS = (2**31, 2**63, 2**64 + 1, -1)
BAD_BODY_INTS = (2**31, 2**63, -1)
FAR_DATES = ("9999-12-31", "0001-01-01")
FAR_TIMES = ("9999-12-31T23:59:59+08:00", "0001-01-01T00:00:00Z")
NUL = "a\x00b"
DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_COOKIES = (
    "garbage",
    base64.b64encode(b"n" * 12 + b"c" * 20 + b"additional_authenticated_data=not json").decode(),
    base64.b64encode(b"n" * 12 + b"c" * 20 + b"additional_authenticated_data=[1]").decode(),
    "%00%ff",
)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Probe:
    """One request: what class of input it carries and where."""

    label: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None


@dataclass
class World:
    slug: str
    token: str
    ids: dict[str, int]
    open311_key: str
    today: str
    now: str


# --- the schema -------------------------------------------------------------------------


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["components"]["schemas"][name]
    return schema


def alternatives(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of a oneOf/anyOf, merged with the outer constraints."""
    schema = resolve(schema, root)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branch = next((resolve(s, root) for s in schema[key] if s.get("type") != "null"), {})
            outer = {k: v for k, v in schema.items() if k != key}
            return {**branch, **outer}
    return schema


def example(schema: dict[str, Any], root: dict[str, Any], w: World) -> Any:
    schema = alternatives(schema, root)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example(sub, root, w)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return [example(schema["items"], root, w)] if schema.get("minItems") else []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        fmt, pattern = schema.get("format"), schema.get("pattern", "")
        if fmt == "date":
            return w.today
        if fmt == "date-time":
            return w.now
        if "[01]" in pattern:
            return "09:00"
        if pattern.startswith("^[A-Za-z0-9"):
            return "general"
        return "示例" * max(1, int(schema.get("minLength", 1)))
    return None


def leaves(
    schema: dict[str, Any], root: dict[str, Any], path: tuple[Any, ...] = (), depth: int = 0
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every scalar (and free-form object) location of a body schema, with its schema."""
    schema = alternatives(schema, root)
    if depth > 4:
        return []
    if "properties" in schema:
        out = []
        for name, sub in schema["properties"].items():
            out += leaves(sub, root, (*path, name), depth + 1)
        return out
    if schema.get("type") == "array" and "items" in schema:
        return leaves(schema["items"], root, (*path, 0), depth + 1)
    return [(path, schema)]


def put(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``path`` (parents created as needed)."""
    body = copy.deepcopy(body)
    node = body
    for step, nxt in pairwise(path):
        if isinstance(step, int):
            while len(node) <= step:
                node.append({} if isinstance(nxt, str) else [])
            node = node[step]
        else:
            if not isinstance(node.get(step), dict | list):
                node[step] = [] if isinstance(nxt, int) else {}
            node = node[step]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return body


# --- seeds: valid bodies the schema alone cannot make -------------------------------------


def seeds(w: World) -> dict[str, Any]:
    return {
        "CaseIn": case_body(received_at=w.now),
        "SessionIn": {
            "day": w.today,
            "half": "am",
            "starts_at": "09:00",
            "ends_at": "11:30",
            "place": "接待室",
            "leader_id": w.ids["user_id"],
        },
        "LeaveIn": {"first_day": w.today, "last_day": w.today, "user_id": w.ids["user_id"]},
        "TemplateIn": {
            "key": "fuzz",
            "title_zh": "领导接访日",
            "leaders": [w.ids["user_id"]],
            "weekdays": [0],
            "standby": [],
        },
        "SwapIn": {"to_leader_id": w.ids["user_id"], "reason": "出差"},
        "OverrideIn": {"reason": "调整", "leader_id": w.ids["user_id"]},
        "PublishIn": {"until": w.today},
        "RevealIn": {"fields": ["phone"], "reason": "电话告知受理结果"},
        "ActionIn": {
            "reason": "依法受理",
            "to_department_id": w.ids["department_id"],
            "handler_id": w.ids["user_id"],
            "on": w.today,
            "days": 10,
        },
        "UserIn": {
            "username": "fuzzer",
            "display_name": "测试",
            "password": PASSWORD,
            "roles": ["clerk"],
            "department_id": w.ids["department_id"],
        },
        "DepartmentIn": {"code": "fuzz", "name": "测试部门", "parent_id": w.ids["department_id"]},
        "VisitorIn": {"name": "李四", "phone": "13900139000"},
        "PluginIn": {"enabled": True, "config": {}},
        "ResultToldIn": {"method": "phone", "told_at": w.now},
        "HandoverIn": {"behaviour": "other", "receiving_officer": "王警官", "at": w.now},
        "TokenIn": {"name": "fuzz", "ttl_days": 1},
    }


def path_value(path: str, name: str, w: World) -> str:
    if name == "tenant":
        return w.slug
    if name in w.ids:
        return str(w.ids[name])
    if path.startswith("/open311/"):
        return "general.json"
    return {
        "year": "2026",
        "action": "accept",
        "name": "enterprise_logistics",
        "code": "general",
        "kind": "documents",
        "feed": "nothing.ics",
        "document": "receipt.pdf",
        "volume": "2026.pdf",
    }.get(name, "1")


def query_value(param: dict[str, Any], root: dict[str, Any], w: World) -> Any:
    schema = alternatives(param.get("schema", {}), root)
    if "YYYY-MM-DD:YYYY-MM-DD" in param.get("description", ""):
        return [f"{w.today}:{w.today}"]
    if param["name"] == "clock":
        return "handle"
    if param["name"] == "month":
        return w.today[:7]
    return example(schema, root, w)


# --- probes -------------------------------------------------------------------------------


def url_of(path: str, values: dict[str, str], query: dict[str, Any]) -> str:
    url = re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: quote(values[m.group(1)], safe=""), path)
    parts = []
    for key, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                continue
            text = json.dumps(v) if isinstance(v, bool) else str(v)
            parts.append(f"{quote(key)}={quote(text, safe='')}")
    return url + ("?" + "&".join(parts) if parts else "")


def probes_for(
    path: str, method: str, op: dict[str, Any], root: dict[str, Any], w: World
) -> list[Probe]:
    auth = {"Authorization": f"Bearer {w.token}"}
    params = op.get("parameters", [])
    pvals = {p["name"]: path_value(path, p["name"], w) for p in params if p["in"] == "path"}
    query = {
        p["name"]: query_value(p, root, w)
        for p in params
        if p["in"] == "query" and (p.get("required") or p["name"] == "api_key")
    }
    if path.startswith("/open311/") and "api_key" in query:
        query["api_key"] = w.open311_key
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    body_schema = content.get("schema")
    body: Any = None
    if body_schema is not None:
        name = body_schema.get("$ref", "").rsplit("/", 1)[-1]
        body = seeds(w).get(name) or example(body_schema, root, w)

    def probe(
        label: str, pv: dict[str, str] = pvals, q: dict[str, Any] = query, **kw: Any
    ) -> Probe:
        kw.setdefault("json_body", body)
        headers = {**auth, **kw.pop("headers", {})}
        return Probe(label, method, url_of(path, pv, q), headers=headers, **kw)

    out: list[Probe] = []
    # Path and query parameters, by type.
    for p in params:
        schema = alternatives(p.get("schema", {}), root)
        kind, fmt = schema.get("type"), schema.get("format")
        loc = p["in"]
        if loc == "path":
            if kind == "integer":
                out += [
                    probe(f"big_int path {v}", pv={**pvals, p["name"]: str(v)}) for v in BAD_IDS
                ]
            else:
                out.append(probe("nul path", pv={**pvals, p["name"]: NUL}))
                raw = url_of(path, {**pvals, p["name"]: "X"}, query).replace("/X", "/%FF%FE", 1)
                out.append(Probe("invalid_utf8 path", method, raw, headers=auth, json_body=body))
        elif loc == "query":
            if kind == "integer":
                out += [probe(f"big_int query {v}", q={**query, p["name"]: v}) for v in BAD_IDS]
            elif fmt == "date" or p["name"].endswith("_date"):
                dates = FAR_DATES if fmt == "date" else FAR_TIMES
                out += [probe("far_date query", q={**query, p["name"]: d}) for d in dates]
            elif "YYYY-MM-DD" in p.get("description", ""):
                out.append(
                    probe("far_date query", q={**query, p["name"]: ["0001-01-01:9999-12-31"]})
                )
            if kind in ("string", "array") or fmt:
                out.append(probe("nul query", q={**query, p["name"]: NUL}))
    out.append(probe("invalid_utf8 query", q={**query, "q": "x"}))
    out[-1].url = out[-1].url.replace("q=x", "q=%FF%FE")
    # Cookies: a broken session cookie beside the token, and alone.
    for cookie in BAD_COOKIES:
        out.append(probe("bad_cookie", headers={"Cookie": f"xf_session={cookie}"}))
    out.append(
        Probe(
            "bad_cookie no token",
            method,
            url_of(path, pvals, query),
            headers={"Cookie": f"xf_session={BAD_COOKIES[1]}"},
            json_body=body,
        )
    )
    if method in ("get", "delete"):
        return out
    # Bodies.
    json_ct = {"content-type": "application/json"}
    out.append(
        probe("invalid_utf8 body", json_body=None, content=b'{"x": "\xff\xfe"}', headers=json_ct)
    )
    out.append(probe("deep_json body", json_body=None, content=DEEP, headers=json_ct))
    if body_schema is None:
        return out
    for loc, schema in leaves(body_schema, root):
        where = ".".join(map(str, loc))
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "integer":
            out += [
                probe(f"big_int body {where}", json_body=put(body, loc, v)) for v in BAD_BODY_INTS
            ]
        elif kind == "string":
            out.append(probe(f"nul body {where}", json_body=put(body, loc, NUL)))
            if fmt == "date":
                out += [
                    probe(f"far_date body {where}", json_body=put(body, loc, d)) for d in FAR_DATES
                ]
            elif fmt == "date-time":
                out += [
                    probe(f"far_date body {where}", json_body=put(body, loc, d)) for d in FAR_TIMES
                ]
        elif kind == "object" or (kind is None and "additionalProperties" in schema):
            marked = json.dumps(put(body, loc, "@@DEEP@@"), ensure_ascii=False)
            deep = marked.encode().replace(b'"@@DEEP@@"', b'{"a": ' + DEEP + b"}")
            out.append(
                probe(f"deep_json body {where}", json_body=None, content=deep, headers=json_ct)
            )
            nul_key = put(body, loc, {NUL: "x"})
            out.append(probe(f"nul key {where}", json_body=nul_key))
    return out


def page_probes(w: World, csrf: str, session_cookie: str) -> list[Probe]:
    """The HTML pages and Open311 bodies, which the schema does not describe."""
    login = {
        "tenant": w.slug,
        "username": "everyone",
        "password": PASSWORD,
        "next": "/",
        "_csrf_token": csrf,
    }
    cookie = {"Cookie": f"xf_csrf={csrf}"}
    staff = {"Cookie": f"xf_session={session_cookie}", "accept": "text/html"}
    out = [
        Probe("nul query", "get", "/login?next=" + quote(NUL)),
        Probe("invalid_utf8 query", "get", "/login?next=%FF%FE"),
    ]
    for key in ("tenant", "username", "password", "next"):
        out.append(
            Probe(f"nul form {key}", "post", "/login", headers=cookie, data={**login, key: NUL})
        )
    form_ct = {**cookie, "content-type": "application/x-www-form-urlencoded"}
    out.append(
        Probe(
            "invalid_utf8 form",
            "post",
            "/login",
            headers=form_ct,
            content=b"tenant=%FF&username=\xfe&password=x&_csrf_token=" + csrf.encode(),
        )
    )
    for bad in BAD_COOKIES:
        bad_cookie = {"Cookie": f"xf_session={bad}; xf_csrf={csrf}"}
        out += [
            Probe("bad_cookie", "get", "/login", headers=bad_cookie),
            Probe("bad_cookie", "post", "/login", headers=bad_cookie, data=login),
            Probe("bad_cookie", "get", "/", headers={**bad_cookie, "accept": "text/html"}),
        ]
    out += [Probe(f"big_int query {v}", "get", f"/cases?after={v}", headers=staff) for v in BAD_IDS]
    out += [Probe("nul query", "get", "/cases?after=" + quote(NUL), headers=staff)]
    for page in ("/cases/{}", "/inbox?before={}"):
        out += [Probe(f"big_int {page}", "get", page.format(v), headers=staff) for v in BAD_IDS]
        out += [Probe(f"nul {page}", "get", page.format(quote(NUL)), headers=staff)]
    out += [
        Probe(
            "bad_cookie /cases",
            "get",
            "/cases/1",
            headers={**staff, "Cookie": "xf_session=garbage"},
        )
    ]
    # Open311 submissions: form and JSON.
    url = f"/open311/{w.slug}/v2/requests.json"
    good = {
        "api_key": w.open311_key,
        "service_code": "general",
        "description": "路灯不亮",
        "first_name": "建国",
        "last_name": "张",
        "phone": "13800138000",
        "email": "a@example.cn",
        "address_string": "幸福路 1 号",
        "lat": "39.9",
        "long": "116.4",
        "device_id": "d1",
    }
    for key in good:
        if key == "api_key":
            continue
        out.append(Probe(f"nul form {key}", "post", url, data={**good, key: NUL}))
        out.append(Probe(f"nul json {key}", "post", url, json_body={**good, key: NUL}))
        for v in (2**31, -1, 2**64, ["x"], {"a": 1}, True):
            out.append(Probe(f"non_string json {key}", "post", url, json_body={**good, key: v}))
    for label, body in (
        ("nul key attribute", {**good, "attribute": {NUL: "x"}}),
        ("big_int attribute", {**good, "attribute": {"x": 2**63}}),
    ):
        out.append(Probe(label, "post", url, json_body=body))
    json_ct = {"content-type": "application/json"}
    out += [
        Probe("deep_json body", "post", url, headers=json_ct, content=DEEP),
        Probe(
            "deep_json attribute",
            "post",
            url,
            headers=json_ct,
            content=b'{"service_code": "general", "attribute": {"a": ' + DEEP + b"}}",
        ),
        Probe(
            "invalid_utf8 body", "post", url, headers=json_ct, content=b'{"description": "\xff"}'
        ),
        Probe(
            "invalid_utf8 form",
            "post",
            url,
            headers={"content-type": "application/x-www-form-urlencoded"},
            content=b"service_code=general&description=%FF%FE&first_name=\xff",
        ),
        Probe("malformed json", "post", url, headers=json_ct, content=b'{"service_code": '),
    ]
    return out


# --- the test -----------------------------------------------------------------------------


def check_error_shape(probe: Probe, resp: Any) -> None:
    if resp.status_code < 400 or "json" not in resp.headers.get("content-type", ""):
        return
    body = resp.json()
    if probe.url.startswith("/open311/"):
        assert isinstance(body, list) and body[0]["code"] and body[0]["description"], body
    else:
        assert set(body) == {"error"}, body
        assert body["error"]["code"] and body["error"]["message"], body


async def test_every_input_class_on_every_route_is_a_client_error(
    client: Any, make_tenant: Any, rt: Any, record_property: Any
) -> None:
    t = await make_tenant(plugins=("enterprise_logistics", "court", "police"))
    everyone = await users.create_user(
        t.scope(rt),
        username="everyone",
        display_name="全员",
        password=PASSWORD,
        roles=list(ROLES),
        department_id=t.departments["petition"],
    )
    token = (await users.create_token(t.scope(rt), everyone.id, name="fuzz")).token
    auth = {"Authorization": f"Bearer {token}"}
    case = (await client.post("/api/v1/cases", json=case_body(), headers=t.headers())).json()
    now = rt.clock.now()
    world = World(
        slug=t.slug,
        token=token,
        ids={
            "case_id": case["id"],
            "visitor_id": case["visitor_id"],
            "department_id": t.departments["petition"],
            "user_id": everyone.id,
            "session_id": 1,
            "slot_id": 1,
            "change_id": 1,
            "message_id": 1,
        },
        open311_key=await open311.create_key(t.scope(rt)),
        today=(now + timedelta(days=7)).date().isoformat(),
        now=(now - timedelta(hours=1)).isoformat(),
    )
    session = await client.post("/api/v1/sessions", json=seeds(world)["SessionIn"], headers=auth)
    assert session.status_code == 201, session.text
    world.ids["session_id"] = session.json()["id"]
    template = await client.post(
        "/api/v1/rota/templates", json=seeds(world)["TemplateIn"], headers=auth
    )
    assert template.status_code == 201, template.text
    await client.post("/api/v1/rota/generate", headers=auth)
    slots = (await client.get("/api/v1/rota/slots", headers=auth)).json()
    world.ids["slot_id"] = slots[0]["id"]
    page = await client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    logged_in = await client.post(
        "/login",
        data={"tenant": t.slug, "username": "everyone", "password": PASSWORD, "_csrf_token": csrf},
    )
    assert logged_in.status_code == 303, logged_in.text
    session_cookie = client.cookies["xf_session"]
    csrf_cookie = client.cookies["xf_csrf"]

    schema = (await client.get("/schema/openapi.json")).json()
    probes: list[Probe] = []
    operations = 0
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                operations += 1
                for p in probes_for(path, method, op, schema, world):
                    p.label = f"{method.upper()} {path} · {p.label}"
                    probes.append(p)
    schema_probes = len(probes)
    for p in page_probes(world, csrf_cookie, session_cookie):
        p.label = f"{p.method.upper()} {p.url.split('?')[0]} · {p.label}"
        probes.append(p)

    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for probe in probes:
        client.cookies.clear()
        kwargs: dict[str, Any] = {"headers": probe.headers}
        if probe.content is not None:
            kwargs["content"] = probe.content
        elif probe.data is not None:
            kwargs["data"] = probe.data
        elif probe.json_body is not None and probe.method not in ("get", "delete"):
            kwargs["json"] = probe.json_body
        resp = await client.request(probe.method.upper(), probe.url, **kwargs)
        statuses[resp.status_code] += 1
        if resp.status_code >= 500:
            failures.append(f"{probe.label}: {resp.status_code} {resp.text[:200]}")
            continue
        try:
            check_error_shape(probe, resp)
        except (AssertionError, ValueError, KeyError) as exc:
            failures.append(f"{probe.label}: {resp.status_code} bad error shape {exc!r}")
    classes = Counter(p.label.split(" · ")[1].split(" ")[0] for p in probes)
    summary = (
        f"{len(probes)} (route × input) requests over {operations} schema operations "
        f"and the pages; by class {dict(classes)}; statuses {dict(sorted(statuses.items()))}"
    )
    print(summary)
    record_property("route_input_requests", len(probes))
    assert operations >= 55, "the schema lists every API route"
    per_route = Counter(p.label.split(" · ")[0] for p in probes[:schema_probes])
    assert min(per_route.values()) >= 6, per_route  # every route got every general class
    assert len(probes) >= 800, summary
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures) {summary}"
