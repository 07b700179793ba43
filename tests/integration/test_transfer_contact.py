"""A cross-tenant transfer brings the receiver a *copy* of the sender's contact data: the
receiver's own person record changes only when its own staff adopt the copy. Through
the API on both engines (security finding 2)."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain.identity import mask_address, mask_phone
from tests.conftest import valid_id_number
from tests.integration.test_lifecycle import act, register

pytestmark = pytest.mark.asyncio

ID_NUMBER = valid_id_number(seq=777)
COURT_PHONE, COURT_ADDRESS = "13900001111", "北京市朝阳区建国路88号"
NEW_PHONE, NEW_ADDRESS = "13722223333", "北京市海淀区中关村大街1号"


async def get(client: Any, t: Any, path: str, role: str = "clerk") -> dict[str, Any]:
    r = await client.get(path, headers=t.headers(role))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def transferred_case(client: Any, court: Any, sent: dict[str, Any]) -> dict[str, Any]:
    """The receiver's copy of the sender's case ``sent``."""
    items = (await get(client, court, "/api/v1/cases?status=transferring"))["items"]
    for item in items:
        case = await get(client, court, f"/api/v1/cases/{item['id']}")
        if case["flags"]["transferred_from"]["receipt_code"] == sent["receipt_code"]:
            return case
    raise AssertionError(f"{sent['receipt_code']} not received")


def person(visitor: dict[str, Any]) -> dict[str, Any]:
    """The person record without the list of their matters (the transfer adds one)."""
    return {k: v for k, v in visitor.items() if k != "cases"}


async def test_transfer_never_writes_the_receivers_person_record(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    heating, court = await make_tenant(prefix="heat"), await make_tenant(prefix="court")
    petitioner = {"name": "周九", "id_number": ID_NUMBER}
    mine = await register(
        client,
        court,
        visitor={**petitioner, "phone": COURT_PHONE, "address": COURT_ADDRESS},
        cause="执行款迟迟未到账",
    )
    vid = mine["visitor_id"]
    before = await get(client, court, f"/api/v1/visitors/{vid}")
    assert before["phone"] == mask_phone(COURT_PHONE)
    assert before["address"] == mask_address(COURT_ADDRESS)

    # Another tenant's clerk types the same ID number with a new phone and address.
    theirs = await register(
        client,
        heating,
        visitor={**petitioner, "phone": NEW_PHONE, "address": NEW_ADDRESS},
        cause="供暖费被重复收取",
    )
    await act(client, heating, theirs["id"], "transfer", "clerk", to_tenant=court.slug)

    after = await get(client, court, f"/api/v1/visitors/{vid}")
    assert person(after) == person(before)  # phone, address (masked), flags unchanged
    listed = await get(client, court, f"/api/v1/visitors?id_number={ID_NUMBER}")
    assert [v["id"] for v in listed] == [vid] and listed[0]["phone"] == mask_phone(COURT_PHONE)

    # The transferred case links the court's existing person and carries the copy.
    case = await transferred_case(client, court, theirs)
    assert case["visitor_id"] == vid
    assert case["id"] in [m["id"] for m in after["cases"]]
    assert case["visitor"]["phone"] == mask_phone(COURT_PHONE)
    copy = case["transfer_contact"]
    assert copy["phone"] == mask_phone(NEW_PHONE)
    assert copy["address"] == mask_address(NEW_ADDRESS)
    assert copy["fields"] == ["phone", "address"] and copy["state"] == "pending"
    assert copy["from_tenant_name"] == heating.info.name
    assert "adopt_contact" in case["allowed_actions"]
    # The list shows the court's own (masked) record, never the copy.
    (row,) = [
        r
        for r in (await get(client, court, "/api/v1/cases?status=transferring"))["items"]
        if r["id"] == case["id"]
    ]
    assert row["visitor"]["phone"] == mask_phone(COURT_PHONE)
    assert NEW_PHONE not in str(row) and NEW_ADDRESS not in str(row)

    html = await client.get(
        f"/cases/{case['id']}", headers={**court.headers(), "accept": "text/html"}
    )
    assert html.status_code == 200 and "转送机关提供的联系方式（副本）" in html.text
    assert mask_phone(NEW_PHONE) in html.text and NEW_PHONE not in html.text

    # Encrypted at rest, like every other personal field.
    from core.db.engine import tenant_tx
    from core.db.tables import CaseTransfer

    async with tenant_tx(court.id, write=False):
        stored = await CaseTransfer.select().where(CaseTransfer.tenant_id == court.id)
    text = str(stored)
    assert NEW_PHONE not in text and "中关村" not in text
    enc = [r for r in stored if r["phone_enc"]]
    assert rt.keys.decrypt(enc[0]["phone_enc"], context="case_transfer.phone") == NEW_PHONE

    # The sender's side is the sender's: its own record keeps what its clerk typed.
    sender_person = await get(client, heating, f"/api/v1/visitors/{theirs['visitor_id']}")
    assert sender_person["phone"] == mask_phone(NEW_PHONE)

    # Only the receiver's registrars adopt it, by their own explicit step.
    err = await act(client, court, case["id"], "adopt_contact", "handler", 403)
    assert err["error"]["code"] == "role_required"
    assert person(await get(client, court, f"/api/v1/visitors/{vid}")) == person(before)
    adopted = await act(client, court, case["id"], "adopt_contact", "clerk")
    event = adopted["events"][-1]
    assert event["kind"] == "adopt_contact"
    assert event["actor_id"] == court.users["clerk"]["id"]
    assert event["data"]["fields"] == ["phone", "address"] and event["data"]["visitor_id"] == vid
    assert NEW_PHONE not in str(event) and "中关村" not in str(event)  # no personal data in the log
    assert adopted["transfer_contact"]["state"] == "adopted"
    assert "adopt_contact" not in adopted["allowed_actions"]  # nothing left to adopt
    now = await get(client, court, f"/api/v1/visitors/{vid}")
    assert now["phone"] == mask_phone(NEW_PHONE) and now["address"] == mask_address(NEW_ADDRESS)
    # The court finds the person by the adopted phone now.
    found = await get(client, court, f"/api/v1/visitors?phone={NEW_PHONE}")
    assert [v["id"] for v in found] == [vid]
    again = await act(client, court, case["id"], "adopt_contact", "clerk", 409)
    assert again["error"]["code"] == "no_contact_copy"


async def test_adopting_only_some_fields_and_a_new_person(client: Any, make_tenant: Any) -> None:
    heating, court = await make_tenant(prefix="heat"), await make_tenant(prefix="court")
    await register(
        client,
        court,
        visitor={"name": "周九", "id_number": ID_NUMBER, "phone": COURT_PHONE},
        cause="执行款迟迟未到账",
    )
    theirs = await register(
        client,
        heating,
        visitor={
            "name": "周九",
            "id_number": ID_NUMBER,
            "phone": COURT_PHONE,
            "address": NEW_ADDRESS,
        },
        cause="供暖费被重复收取",
    )
    await act(client, heating, theirs["id"], "transfer", "clerk", to_tenant=court.slug)
    case = await transferred_case(client, court, theirs)
    # Same phone: only the address (missing at the court) travels as a copy.
    assert case["transfer_contact"]["fields"] == ["address"]
    assert case["transfer_contact"]["phone"] is None
    vid = case["visitor_id"]
    assert (await get(client, court, f"/api/v1/visitors/{vid}"))["address"] is None
    err = await act(client, court, case["id"], "adopt_contact", "clerk", 422, fields=["phone"])
    assert err["error"]["field"] == "fields" and err["error"]["code"] == "not_in_copy"
    await act(client, court, case["id"], "adopt_contact", "clerk", fields=["address"])
    assert (await get(client, court, f"/api/v1/visitors/{vid}"))["address"] == mask_address(
        NEW_ADDRESS
    )

    # A person the receiver does not know yet gets a new record from the transfer.
    stranger = {"name": "吴十", "id_number": valid_id_number(seq=778), "phone": NEW_PHONE}
    other = await register(client, heating, visitor=stranger, cause="暖气片漏水")
    await act(client, heating, other["id"], "transfer", "clerk", to_tenant=court.slug)
    case = await transferred_case(client, court, other)
    assert case["visitor_id"] != vid and case["visitor"]["phone"] == mask_phone(NEW_PHONE)
    assert case["transfer_contact"] is None
    err = await act(client, court, case["id"], "adopt_contact", "clerk", 409)
    assert err["error"]["code"] == "no_contact_copy"


async def test_the_copy_is_rotated_with_the_other_personal_data(
    client: Any, make_tenant: Any, rt: Any
) -> None:
    from core.db.engine import tenant_tx
    from core.db.tables import CaseTransfer
    from core.security import Keys
    from core.services import keys as rotation
    from tests.conftest import TEST_SECRET

    heating, court = await make_tenant(prefix="heat"), await make_tenant(prefix="court")
    await register(client, court, visitor={"name": "周九", "id_number": ID_NUMBER})
    theirs = await register(
        client, heating, visitor={"name": "周九", "id_number": ID_NUMBER, "phone": NEW_PHONE}
    )
    await act(client, heating, theirs["id"], "transfer", "clerk", to_tenant=court.slug)
    new = "rotated-secret-key-0123456789-abcdefghijklmn"
    saved = rt.keys
    rt.keys = Keys.from_secrets(new, (TEST_SECRET,))
    try:
        report = await rotation.rotate(rt, tenant=court.slug)
    finally:
        rt.keys = saved
    assert report.tables["case_transfer"].rewritten == 1
    async with tenant_tx(court.id, write=False):
        row = (
            await CaseTransfer.select(CaseTransfer.phone_enc)
            .where((CaseTransfer.tenant_id == court.id) & CaseTransfer.phone_enc.is_not_null())
            .first()
        )
    assert Keys.from_secret(new).decrypt(row["phone_enc"], context="case_transfer.phone") == (
        NEW_PHONE
    )
