"""The plugin door stays narrow as core grows: the ``plugins-api`` import contract lists
every module of core except ``core.plugin_api``, and plugins import core only through
the plugin API (checked by ``lint-imports``; this keeps its list complete)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract(contract_id: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id]
    return contract


def _core_modules() -> set[str]:
    core = ROOT / "core"
    return {
        f"core.{p.stem}"
        for p in core.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }


def test_plugins_may_import_nothing_of_core_but_the_plugin_api() -> None:
    forbidden = set(_contract("plugins-api")["forbidden_modules"])  # type: ignore[arg-type]
    assert _core_modules() - forbidden == {"core.plugin_api"}


def test_no_import_is_tolerated_across_the_plugin_door() -> None:
    for contract_id in ("plugins-api", "plugin-api-pure"):
        assert not _contract(contract_id).get("ignore_imports"), contract_id


def test_core_and_plugins_guard_roles_with_one_function() -> None:
    from core import plugin_api
    from core.web import auth

    assert auth.requires is plugin_api.requires
