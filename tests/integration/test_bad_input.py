"""Bad input: a 4xx with a stable code, the field and a zh-CN message; nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.tables import CaseEvent, CaseParticipant, PetitionCase, Visitor
from tests.conftest import valid_id_number
from tests.integration.test_platform_api import case_body

pytestmark = pytest.mark.asyncio


async def counts(tenant_id: int) -> tuple[int, ...]:
    async with tenant_tx(tenant_id, write=False):
        return (
            await PetitionCase.count().where(PetitionCase.tenant_id == tenant_id),
            await Visitor.count().where(Visitor.tenant_id == tenant_id),
            await CaseParticipant.count().where(CaseParticipant.tenant_id == tenant_id),
            await CaseEvent.count().where(CaseEvent.tenant_id == tenant_id),
        )


def err(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        (b'{"channel": "visit", "cause": "x"', 400, "malformed_json", None),
        (b"[1, 2]", 422, "wrong_type", None),
        (b'{"channel": 5, "cause": "x"}', 422, "wrong_type", "channel"),
        (b'{"channel": "fax", "cause": "x"}', 422, "invalid_choice", "channel"),
        (b'{"channel": "visit", "cause": "x", "colour": "red"}', 422, "unknown_field", "colour"),
        (b'{"channel": "visit"}', 422, "missing_field", "cause"),
        (b'{"channel": "visit", "cause": "x", "headcount": 0}', 422, "out_of_range", "headcount"),
        (
            b'{"channel": "visit", "cause": "x", "headcount": "three"}',
            422,
            "wrong_type",
            "headcount",
        ),
        (b'{"channel": "visit", "cause": "x", "headcount": [3]}', 422, "wrong_type", "headcount"),
    ],
)
async def test_malformed_and_mistyped_bodies(
    client: Any, make_tenant: Any, payload: bytes, status: int, code: str, field: str | None
) -> None:
    t = await make_tenant()
    resp = await client.post(
        "/api/v1/cases",
        content=payload,
        headers={**t.headers(), "content-type": "application/json"},
    )
    assert resp.status_code == status, resp.text
    e = err(resp)
    assert e["code"] == code
    assert e.get("field") == field
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_over_long_string_names_the_field_and_limit(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = case_body(locality="区" * 201)
    resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
    assert resp.status_code == 422
    e = err(resp)
    assert (e["code"], e["field"]) == ("too_long", "locality")
    assert "200" in e["message"]
    nested = case_body()
    nested["visitor"]["name"] = "名" * 101
    e = err(await client.post("/api/v1/cases", json=nested, headers=t.headers()))
    assert (e["code"], e["field"]) == ("too_long", "visitor.name")


async def test_invalid_id_number_checksum_is_refused_without_echo(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    good = valid_id_number()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    body = case_body()
    body["visitor"]["id_number"] = bad
    resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
    assert resp.status_code == 422
    e = err(resp)
    assert e["code"] == "id_number_checksum" and e["field"] == "visitor.id_number"
    assert bad not in resp.text
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_invalid_phone_is_refused(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = case_body()
    body["visitor"]["phone"] = "12345"
    e = err(await client.post("/api/v1/cases", json=body, headers=t.headers()))
    assert (e["code"], e["field"]) == ("phone_format", "visitor.phone")
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_group_visit_with_too_many_representatives_is_rejected(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant()
    reps = [{"name": f"代表{i}"} for i in range(6)]
    resp = await client.post(
        "/api/v1/cases", json=case_body(headcount=30, representatives=reps), headers=t.headers()
    )
    assert resp.status_code == 422
    e = err(resp)
    assert e["code"] == "too_many_representatives" and e["field"] == "representatives"
    assert "5" in e["message"]
    assert await counts(t.id) == (0, 0, 0, 0)
    none = await client.post("/api/v1/cases", json=case_body(headcount=5), headers=t.headers())
    assert err(none)["code"] == "representatives_required"
    ok = await client.post(
        "/api/v1/cases", json=case_body(headcount=30, representatives=reps[:5]), headers=t.headers()
    )
    assert ok.status_code == 201 and ok.json()["is_group"] is True
    assert len(ok.json()["representatives"]) == 5


async def test_failure_mid_transaction_leaves_nothing(
    client: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection after the visitor, case and participant rows are written."""
    from core.services import events

    t = await make_tenant()

    async def broken_enqueue(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(events, "enqueue", broken_enqueue)
    body = case_body(headcount=6, representatives=[{"name": "代表甲"}])
    resp = await client.post("/api/v1/cases", json=body, headers=t.headers())
    assert resp.status_code == 500
    assert err(resp)["code"] == "internal_error"
    assert await counts(t.id) == (0, 0, 0, 0)


async def test_credentials_missing_wrong_expired_or_unknown_tenant(
    client: Any, rt: Any, make_tenant: Any
) -> None:
    from core.services import users

    t = await make_tenant()
    cases = {
        "not_authenticated": {},
        "token_invalid": {"Authorization": "Bearer xf.nobody-here.abcdef"},
    }
    for code, headers in cases.items():
        resp = await client.get("/api/v1/cases", headers=headers)
        assert resp.status_code == 401 and err(resp)["code"] == code
    wrong = t.tokens["clerk"][:-4] + "AAAA"
    assert (
        err(await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {wrong}"}))["code"]
        == "token_invalid"
    )
    token, _ = await users.create_token(
        t.scope(rt), t.users["clerk"]["id"], name="short", ttl_days=1
    )
    real_clock = rt.clock
    from core.clock import FixedClock

    rt.clock = FixedClock(real_clock.now() + timedelta(days=2))
    try:
        resp = await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    finally:
        rt.clock = real_clock
    assert resp.status_code == 401 and err(resp)["code"] == "token_expired"


async def test_unknown_route_and_method_are_json_errors(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    assert err(await client.get("/api/v1/nothing", headers=t.headers()))["code"] == "not_found"
    resp = await client.delete("/api/v1/cases", headers=t.headers())
    assert resp.status_code == 405 and err(resp)["code"] == "method_not_allowed"
