"""The grassroots-practice rule pack (formerly ``seed-practice``): a real name, a title per
clock, and the old name still loading for tenants and stored deadlines that use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.rulepacks import available_packs, load_pack
from tests.integration.test_cli_deadlines import _env, _xinfang
from tests.integration.test_platform_api import case_body


def test_old_name_is_an_alias_of_the_renamed_pack() -> None:
    pack = load_pack("seed-practice")
    assert pack.name == "grassroots-practice" and pack.title_zh == "基层信访工作实践"
    assert load_pack("grassroots-practice") == pack
    assert "grassroots-practice" in available_packs()
    titles = [rule.title_zh for rule in pack.clocks.values()]
    assert len(set(titles)) == len(titles), "each clock has its own title"
    assert pack.clock("handle").title_zh == "一般事项办理"
    text = " ".join([pack.title_zh, pack.source, *titles, *(r.basis for r in pack.clocks.values())])
    assert "种子" not in text


def test_an_admin_file_named_like_the_alias_still_wins(tmp_path: Path) -> None:
    src = Path("core/rulepacks/packs/cn-2022.toml").read_text(encoding="utf-8")
    (tmp_path / "seed-practice.toml").write_text(
        src.replace('name = "cn-2022"', 'name = "seed-practice"'), encoding="utf-8"
    )
    assert load_pack("seed-practice", extra_dirs=[tmp_path]).name == "seed-practice"


@pytest.mark.asyncio
async def test_tenant_configured_with_the_old_name_counts_and_explains(
    client: Any, make_tenant: Any
) -> None:
    t = await make_tenant(rule_pack="seed-practice")
    case = await client.post("/api/v1/cases", json=case_body(), headers=t.headers())
    assert case.status_code == 201, case.text
    clocks = await client.get(f"/api/v1/cases/{case.json()['id']}/deadlines", headers=t.headers())
    assert clocks.status_code == 200, clocks.text
    rows = clocks.json()
    assert {r["clock"] for r in rows} == {"accept", "notify"}
    for r in rows:
        assert r["pack"] == "grassroots-practice"
        assert "种子" not in " ".join(r["steps"]), r["steps"]
    explain = await client.get(
        "/api/v1/deadlines/explain",
        params={"clock": "handle", "start": "2026-09-16"},
        headers=t.headers(),
    )
    assert explain.status_code == 200, explain.text
    first = explain.json()["steps"][0]
    assert "一般事项办理期限为 30 个自然日" in first and "种子" not in first


@pytest.mark.parametrize("name", ["grassroots-practice", "seed-practice"])
def test_cli_explains_with_the_new_name_and_the_alias(tmp_path: Path, name: str) -> None:
    out = _xinfang(
        "deadline",
        "explain",
        "--pack",
        name,
        "--clock",
        "handle_assigned",
        "--start",
        "2026-09-16",
        "--json",
        env=_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["pack"] == "grassroots-practice"
    assert "上级交办事项办理期限为 90 个自然日" in doc["steps"][0]
    assert not any("种子" in s for s in doc["steps"])
