"""Sector form fields a plugin marks as personal data are encrypted at rest, masked to
anyone reading the stored form, and shown in clear only on the case detail."""

from __future__ import annotations

from typing import Any

import pytest

from core.db.engine import tenant_tx
from core.db.tables import PetitionCase
from tests.integration.test_plugin_platform import case_body

pytestmark = pytest.mark.asyncio


async def test_plugin_pii_fields_are_sealed_in_the_database(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(plugins=("enterprise_logistics",))
    form = {
        "estate": "幸福小区",
        "building": "3号楼",
        "unit": "2",
        "room": "1702",
        "account_number": "HX-20331-88",
        "indoor_temp": 19,
    }
    r = await client.post("/api/v1/cases", json=case_body("heating", form), headers=t.headers())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["form"]["account_number"] == "HX-20331-88" and case["form"]["room"] == "1702"
    assert "_sealed" not in case["form"]
    async with tenant_tx(t.id, write=False):
        row = (
            await PetitionCase.select(PetitionCase.form)
            .where((PetitionCase.tenant_id == t.id) & (PetitionCase.id == case["id"]))
            .output(load_json=True)
            .first()
        )
    assert row is not None
    stored = row["form"]
    assert "HX-20331-88" not in str(stored) and "1702" not in str(stored)
    assert stored["account_number"] == "H*********8" and stored["building"] == "3号楼"
    assert set(stored["_sealed"]) == {"account_number", "room"}
    listed = (await client.get("/api/v1/cases", headers=t.headers())).json()["items"]
    assert "HX-20331-88" not in str(listed)
