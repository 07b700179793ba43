"""Every hook is documented in docs/plugins.md and exercised by a named test."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from core.plugin_api import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"

HOOKS = sorted(
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("xinfang_")
)

# hook → the test that exercises it ("file::function").
HOOK_TESTS = {
    "xinfang_plugin_info": "unit/test_plugin_hooks.py::test_plugin_info_describes_every_builtin_plugin",
    "xinfang_default_config": "integration/test_plugin_platform.py::test_admin_enables_configures_and_disables_a_plugin_per_tenant",
    "xinfang_validate_config": "integration/test_plugin_platform.py::test_admin_enables_configures_and_disables_a_plugin_per_tenant",
    "xinfang_categories": "integration/test_plugin_platform.py::test_two_tenants_with_different_plugins_see_only_their_own",
    "xinfang_form_schema": "integration/test_plugin_platform.py::test_category_form_schema_is_shaped_like_open311_attributes",
    "xinfang_validate_form": "integration/test_plugin_sectors.py::test_court_case_number_is_validated_with_clear_errors",
    "xinfang_route_case": "integration/test_plugin_sectors.py::test_court_routes_by_case_type",
    "xinfang_extra_clocks": "integration/test_plugin_sectors.py::test_court_clocks_exist_only_for_court_tenants",
    "xinfang_case_event": "integration/test_plugin_sectors.py::test_five_complaints_from_one_building_in_a_day_become_one_incident",
    "xinfang_before_transition": "integration/test_plugin_sectors.py::test_police_case_cannot_close_before_the_result_is_told",
    "xinfang_rota_templates": "integration/test_plugin_platform.py::test_sector_lists_come_from_enabled_plugins_only",
    "xinfang_documents": "integration/test_plugin_platform.py::test_sector_lists_come_from_enabled_plugins_only",
    "xinfang_report_sections": "unit/test_plugin_hooks.py::test_list_hooks_only_reach_enabled_plugins_with_tenant_settings",
    "xinfang_pii_fields": "unit/test_plugin_hooks.py::test_pii_fields_are_masked_in_forms",
    "xinfang_routes": "integration/test_plugin_sectors.py::test_handover_of_disruptive_behaviour_is_recorded",
    "xinfang_tables": "unit/test_plugin_hooks.py::test_plugin_tables_are_bound_to_the_core_engine",
    "xinfang_notification_channels": "unit/test_plugin_hooks.py::test_list_hooks_only_reach_enabled_plugins_with_tenant_settings",
    "xinfang_notify": "integration/test_outbox.py::test_plugin_channel_gets_the_message_only_for_tenants_that_enabled_it",
}


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_one_line_docstring(hook: str) -> None:
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert doc.strip() and "\n" not in doc.strip(), hook


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"### `{hook}({params})`" in text, f"docs/plugins.md lacks a section for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    assert hook in HOOK_TESTS, f"name the test that exercises {hook} in HOOK_TESTS"
    path, func = HOOK_TESTS[hook].split("::")
    tree = ast.parse((ROOT / "tests" / path).read_text(encoding="utf-8"))
    names = {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert func in names, f"{HOOK_TESTS[hook]} does not exist"


def test_no_stale_entries() -> None:
    assert set(HOOK_TESTS) == set(HOOKS)
