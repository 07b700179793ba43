"""Plugin host and sector hooks without a database: per-tenant subsets, containment,
the generic form validator, and the pure rules of the sector plugins."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from piccolo.columns import Varchar
from piccolo.table import Table

from core.clock import Clock
from core.errors import InvalidInput, PluginFailure
from core.plugin_api import FormField, hookimpl
from core.plugins import PluginHost, TenantInfo
from core.services import sector
from core.services.scope import Scope
from plugins import court, enterprise_logistics, police


def tenant(*plugins: str, config: dict[str, Any] | None = None) -> TenantInfo:
    return TenantInfo(
        id=1,
        slug="t",
        name="T",
        rule_pack="cn-2022",
        timezone="Asia/Shanghai",
        plugins=frozenset(plugins),
        plugin_config=config or {},
    )


class Channels:
    @hookimpl
    def xinfang_notification_channels(self) -> list[dict[str, Any]]:
        return [{"code": "sms", "title_zh": "短信"}]

    @hookimpl
    def xinfang_report_sections(self, ctx: Any) -> list[dict[str, Any]]:
        return [{"code": "x", "title_zh": ctx.config["title"], "categories": []}]

    @hookimpl
    def xinfang_default_config(self) -> dict[str, Any]:
        return {"title": "默认"}


class PluginTable(Table, tablename="unit_plugin_table"):
    name = Varchar()


class WithTables:
    @hookimpl
    def xinfang_tables(self) -> list[Any]:
        return [PluginTable]


class Crashing:
    @hookimpl
    async def xinfang_case_event(self, kind: str) -> None:
        raise KeyError(kind)


def runtime(host: PluginHost) -> Any:
    return SimpleNamespace(plugins=host, clock=Clock())


def scope_of(host: PluginHost) -> Scope:
    """The system scope of tenant 1 over a runtime holding only ``host`` and a clock."""
    return Scope.system(runtime(host), 1, "t")


def host_with(**plugins: Any) -> PluginHost:
    host = PluginHost()
    for name, plugin in plugins.items():
        host.register(name, plugin)
    return host


async def test_list_hooks_only_reach_enabled_plugins_with_tenant_settings() -> None:
    sc = scope_of(host_with(channels=Channels(), court=court))
    assert await sector.notification_channels(sc, tenant()) == []
    got = await sector.notification_channels(sc, tenant("channels"))
    assert msgspec.to_builtins(got) == [{"code": "sms", "title_zh": "短信", "plugin": "channels"}]
    sections = await sector.report_sections(
        sc, tenant("channels", config={"channels": {"title": "本机构"}})
    )
    assert sections[0].title_zh == "本机构"
    court_sections = await sector.report_sections(sc, tenant("court"))
    assert {s.code for s in court_sections} == {"litigation_redirects", "execution_complaints"}


async def test_plugin_info_describes_every_builtin_plugin() -> None:
    host = host_with(court=court, police=police, enterprise_logistics=enterprise_logistics)
    for name in host.names:
        info = host.info(name)  # xinfang_plugin_info
        assert info.name == name and info.title_zh and info.version


def test_plugin_tables_are_bound_to_the_core_engine() -> None:
    from core.db import engine

    host_with(tabled=WithTables())  # xinfang_tables
    assert PluginTable in engine._extra_tables


async def test_an_unexpected_exception_becomes_a_plugin_failure_naming_it() -> None:
    sc = scope_of(host_with(crashing=Crashing()))
    await sector.case_event(sc, tenant(), {"id": 1}, "registered", {})  # not enabled: no call
    with pytest.raises(PluginFailure) as caught:
        await sector.case_event(sc, tenant("crashing"), {"id": 1}, "registered", {})
    assert caught.value.details == {"plugin": "crashing", "hook": "xinfang_case_event"}
    assert "crashing" in caught.value.message


async def test_pii_fields_are_masked_in_forms() -> None:
    sc = scope_of(host_with(enterprise_logistics=enterprise_logistics))
    t = tenant("enterprise_logistics")
    assert "account_number" in await sector.pii_fields(sc, t)  # xinfang_pii_fields
    masked = await sector.mask_form(sc, t, {"account_number": "HX-20331", "building": "3"})
    assert masked == {"account_number": "H******1", "building": "3"}


def test_generic_validator_checks_types_choices_and_unknown_fields() -> None:
    schema = msgspec.convert(
        [
            {"code": "n", "description": "数量", "datatype": "number", "min": 0, "required": True},
            {
                "code": "c",
                "description": "选项",
                "datatype": "singlevaluelist",
                "values": [{"key": "a", "name": "A"}],
            },
            {"code": "s", "description": "编号", "datatype": "string", "pattern": r"\d{3}"},
        ],
        list[FormField],
    )
    assert sector.validate_by_schema(schema, {"n": "2.5", "c": "a", "s": "123"}) == {
        "n": 2.5,
        "c": "a",
        "s": "123",
    }
    for form, code in [
        ({}, "form_field_required"),
        ({"n": "x"}, "form_field_number"),
        ({"n": -1}, "form_field_range"),
        ({"n": 1, "c": "b"}, "form_field_choice"),
        ({"n": 1, "s": "12"}, "form_field_format"),
        ({"n": 1, "zz": 1}, "unknown_form_field"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            sector.validate_by_schema(schema, form)
        assert caught.value.code == code


def test_heating_season_wraps_the_new_year() -> None:
    season = {"start": "11-15", "end": "03-15"}
    assert enterprise_logistics.in_heating_season(date(2026, 11, 15), season)
    assert enterprise_logistics.in_heating_season(date(2027, 1, 10), season)
    assert enterprise_logistics.in_heating_season(date(2027, 3, 15), season)
    assert not enterprise_logistics.in_heating_season(date(2027, 3, 16), season)
    assert not enterprise_logistics.in_heating_season(date(2026, 7, 1), season)


def test_building_cluster_key_folds_spelling() -> None:
    key = enterprise_logistics.cluster_key
    assert key({"estate": "幸福 小区", "building": "3号楼"}) == key(
        {"estate": "幸福小区", "building": "３栋"}
    )
    assert key({"estate": "幸福小区", "building": "3"}) != key(
        {"estate": "幸福小区", "building": "5"}
    )
    assert key({"estate": "幸福小区"}) is None


def test_court_redirect_names_the_proper_channel() -> None:
    first = {"seeks": "change_judgment", "case_stage": "first_instance", "division": "trial"}
    assert court.redirect_for("appeal", first).channel == "上诉"  # type: ignore[union-attr]
    execution = {"seeks": "change_judgment", "division": "execution"}
    assert court.redirect_for("execution", execution).channel == "执行异议/复议"  # type: ignore[union-attr]
    assert court.redirect_for("retrial", {"seeks": "complaint"}) is None
    assert court.redirect_for("conduct", {"seeks": "change_judgment"}) is None


def test_court_rota_templates_are_the_four_reception_forms() -> None:
    titles = [t.title_zh for t in court.xinfang_rota_templates()]
    assert len(titles) == 4 and all("接访" in t or "下访" in t for t in titles)


def test_documents_include_the_police_result_notice() -> None:
    assert "result_notice" in {d.code for d in police.xinfang_documents()}


class Malformed:
    """Returns shapes its hookspecs do not allow."""

    @hookimpl
    def xinfang_categories(self) -> list[dict[str, Any]]:
        return [{"code": "ok_code", "title_zh": "类别", "colour": "red"}]  # unknown key

    @hookimpl
    def xinfang_report_sections(self) -> list[Any]:
        return [court.ReportSection(code="x", title_zh=7, categories=[])]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "hook"),
    [
        (lambda sc, t: sector.categories(sc, t), "xinfang_categories"),
        (lambda sc, t: sector.report_sections(sc, t), "xinfang_report_sections"),
    ],
)
async def test_a_malformed_return_is_a_plugin_failure_naming_the_plugin(
    call: Any, hook: str
) -> None:
    sc = scope_of(host_with(malformed=Malformed()))
    with pytest.raises(PluginFailure) as caught:
        await call(sc, tenant("malformed"))
    assert caught.value.details == {"plugin": "malformed", "hook": hook}


def test_a_broken_form_schema_is_refused_at_the_door() -> None:
    from core.plugins import check_return

    for field in (
        {"code": "kind", "datatype": "singlevaluelist"},  # no values
        {"code": "n", "datatype": "number", "min": 5, "max": 1},
        {"code": "s", "pattern": "(unclosed"},
        {"code": "s", "datatype": "colour"},
        {"code": "has space"},
    ):
        with pytest.raises(msgspec.ValidationError):
            check_return("xinfang_form_schema", [field])
    # A Struct built by hand is checked too (its constructor checks no types).
    built = FormField(code="x", required="yes")  # type: ignore[arg-type]
    with pytest.raises(msgspec.ValidationError):
        check_return("xinfang_form_schema", [built])


async def test_core_categories_are_a_builtin_plugin_listed_first_for_every_tenant() -> None:
    host = host_with(court=court)
    assert host.names == ["court"]  # never listed, enabled or configured as a plugin
    sc = scope_of(host)
    assert msgspec.to_builtins(await sector.categories(sc, tenant())) == [
        {
            "code": "general",
            "title_zh": "综合",
            "group": "综合",
            "description": "一般信访事项",
            "plugin": None,
        }
    ]
    codes = [(c.code, c.plugin) for c in await sector.categories(sc, tenant("court"))]
    assert codes[0] == ("general", None) and ("appeal", "court") in codes


async def test_hook_context_carries_clock_config_and_tenant_not_the_runtime() -> None:
    seen: list[Any] = []

    class Probe:
        @hookimpl
        def xinfang_documents(self, ctx: Any) -> list[Any]:
            seen.append(ctx)
            return []

        @hookimpl
        def xinfang_default_config(self) -> dict[str, Any]:
            return {"a": 1, "b": 2}

    sc = scope_of(host_with(probe=Probe()))
    rt = sc.rt
    t = tenant("probe", config={"probe": {"b": 3}})
    assert await sector.documents(sc, t) == []
    (ctx,) = seen
    assert ctx.plugin == "probe" and ctx.tenant == t and ctx.config == {"a": 1, "b": 3}
    assert ctx.clock is rt.clock and ctx.today() == rt.clock.today()
    assert not hasattr(ctx, "rt")
    host = rt.plugins
    bare = host.context(rt, t, "probe")  # outside the case services: no facades
    with pytest.raises(RuntimeError):
        await bare.cases.get(1)
