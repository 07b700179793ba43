"""A tenant's own settings as its admin reads and changes them: name, rule pack, the
longest API-token lifetime, repeat-visit counting, reminders and the largest attachment.

They live in the ``tenant`` row (``name``, ``rule_pack``) and its ``settings`` JSON,
which the services read where they apply: ``token_max_ttl_days`` (``users``),
``repeat_window_days`` and ``veteran_threshold`` (``cases``, over the rule pack's
values), ``attachment_max_mb`` (``attachments``), ``reminders``
(``core.domain.reminders.Policy``, docs/daemon.md) and ``notify.petitioner_channel``
(``core.services.petitioner``: the plugin channel, e.g. ``sms_http``, that tells
petitioners their receipt code, acceptance and result). A setting left empty is removed,
so the default it falls back to keeps following the deployment or the rule pack."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from core.db.tables import CaseDeadline, Tenant
from core.domain.reminders import Policy
from core.domain.rulepacks import RulePack
from core.errors import InvalidInput, NotFound
from core.rulepacks import available_packs
from core.schemas import Code, Name
from core.services import audit, sector
from core.services.deadlines import RUNNING, pack_for
from core.services.scope import Scope
from core.services.tenants import get_tenant

ATTACHMENT_DEFAULT_MB = 10
ATTACHMENT_LIMIT_MB = 50
"""The most a tenant may allow (the upload routes accept no larger body)."""
Days = Annotated[int, Meta(ge=0, le=30)]
"""Working days a reminder stage is moved by (the range ``Policy`` accepts)."""


class ReminderSettings(Struct, forbid_unknown_fields=True):
    """``tenant.settings["reminders"]``: the fields of :class:`Policy`, same defaults."""

    approach_days: Days = Policy.approach_days
    escalate_after: Days = Policy.escalate_after
    transfer_warn_days: Days = Policy.transfer_warn_days
    extension_escalate_after: Days = Policy.extension_escalate_after
    screening: bool = Policy.screening
    screening_day: Annotated[int, Meta(ge=1, le=28)] = Policy.screening_day
    screening_lead: Days = Policy.screening_lead
    digest: bool = Policy.digest
    digest_hour: Annotated[int, Meta(ge=0, le=23)] = Policy.digest_hour


class TenantSettingsIn(Struct, forbid_unknown_fields=True):
    """The whole of the settings (PUT): an optional number left out (or null) falls back
    to its default."""

    name: Name
    rule_pack: Code
    token_max_ttl_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    repeat_window_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    veteran_threshold: Annotated[int, Meta(ge=1, le=100)] | None = None
    attachment_max_mb: Annotated[int, Meta(ge=1, le=ATTACHMENT_LIMIT_MB)] | None = None
    """Largest attachment (scanned letter, evidence) in MB; default 10."""
    reminders: ReminderSettings = msgspec.field(default_factory=ReminderSettings)
    petitioner_channel: Annotated[str, Meta(max_length=31, pattern=r"^[a-z0-9_]*$")] | None = None
    """The plugin channel that tells petitioners (e.g. ``sms_http``); ``""`` turns it
    off; left out (null) keeps what is set — the admin page's form does not carry it."""


class RulePackChoice(Struct):
    name: str
    title_zh: str
    version: str


class SettingDefaults(Struct):
    """What an empty setting means: the deployment's and the chosen rule pack's values."""

    token_max_ttl_days: int
    repeat_window_days: int
    veteran_threshold: int
    attachment_max_mb: int


class TenantSettings(Struct):
    slug: str
    name: str
    rule_pack: str
    token_max_ttl_days: int | None
    repeat_window_days: int | None
    veteran_threshold: int | None
    attachment_max_mb: int | None
    reminders: ReminderSettings
    petitioner_channel: str
    """``""`` when petitioners are not told through any channel."""
    defaults: SettingDefaults
    rule_packs: list[RulePackChoice]


OPTIONAL = ("token_max_ttl_days", "repeat_window_days", "veteran_threshold", "attachment_max_mb")


def _number(settings: dict[str, Any], key: str) -> int | None:
    value = settings.get(key)
    return value if type(value) is int and value >= 1 else None


def _reminders(settings: dict[str, Any]) -> ReminderSettings:
    raw = settings.get("reminders") or {}
    known = {k: raw[k] for k in ReminderSettings.__struct_fields__ if k in raw}
    try:
        return msgspec.convert(known, ReminderSettings)
    except msgspec.ValidationError:  # set by hand out of range: show what applies
        return ReminderSettings()


def attachment_max_bytes(settings: dict[str, Any] | None) -> int:
    """The largest attachment a tenant accepts, in bytes (its setting, else 10 MB)."""
    mb = _number(settings or {}, "attachment_max_mb") or ATTACHMENT_DEFAULT_MB
    return min(mb, ATTACHMENT_LIMIT_MB) * 1024 * 1024


def _packs(scope: Scope) -> list[RulePackChoice]:
    out = []
    for name in available_packs(scope.rt.settings.rulepack_dirs):
        try:
            pack: RulePack = scope.rt.rule_pack(name)
        except InvalidInput:  # a broken file in an admin's directory: not a choice
            continue
        out.append(RulePackChoice(pack.name, pack.title_zh, pack.version))
    return out


async def get_settings(scope: Scope) -> TenantSettings:
    tenant = await get_tenant(scope)
    settings = tenant.settings or {}
    pack: RulePack = scope.rt.rule_pack(tenant.rule_pack)  # an alias reads as its pack
    return TenantSettings(
        slug=tenant.slug,
        name=tenant.name,
        rule_pack=pack.name,
        token_max_ttl_days=_number(settings, "token_max_ttl_days"),
        repeat_window_days=_number(settings, "repeat_window_days"),
        veteran_threshold=_number(settings, "veteran_threshold"),
        attachment_max_mb=_number(settings, "attachment_max_mb"),
        reminders=_reminders(settings),
        petitioner_channel=petitioner_channel(settings),
        defaults=SettingDefaults(
            token_max_ttl_days=scope.rt.settings.token_max_ttl_days,
            repeat_window_days=pack.repeat_window_days,
            veteran_threshold=pack.veteran_threshold,
            attachment_max_mb=ATTACHMENT_DEFAULT_MB,
        ),
        rule_packs=_packs(scope),
    )


async def _check_pack(scope: Scope, name: str) -> RulePack:
    """The pack ``name``, if every clock still running in the tenant exists in it (a
    recount — a pause, an extension, a calendar import — counts by the tenant's pack)."""
    pack: RulePack = scope.rt.rule_pack(name)  # unknown: InvalidInput at rule_pack
    tenant = await get_tenant(scope)
    if scope.rt.rule_pack(tenant.rule_pack).name == pack.name:
        return pack
    clocks = set(pack_for(scope, replace(tenant, rule_pack=pack.name)).clocks)
    async with scope.tx(write=False):
        rows = await scope.select(CaseDeadline, CaseDeadline.clock).where(
            CaseDeadline.state.is_in(list(RUNNING))
        )
    missing = sorted({r["clock"] for r in rows} - clocks)
    if missing:
        raise InvalidInput(
            "rule_pack_clocks",
            f"仍有计时中的期限使用规则包 {pack.name} 没有的期限（{'、'.join(missing)}），"
            "待这些期限结束后再更换。",
            field="rule_pack",
            clocks=missing,
        )
    return pack


def petitioner_channel(settings: dict[str, Any] | None) -> str:
    """``settings["notify"]["petitioner_channel"]`` of a tenant, ``""`` when none."""
    notify = (settings or {}).get("notify")
    value = notify.get("petitioner_channel") if isinstance(notify, dict) else None
    return value if isinstance(value, str) else ""


async def _check_channel(scope: Scope, channel: str) -> None:
    """A petitioner channel must be one a plugin the tenant enabled delivers through."""
    if not channel:
        return
    offered = await sector.notification_channels(scope, await get_tenant(scope))
    if channel not in {c.code for c in offered}:
        choices = "、".join(sorted({c.code for c in offered})) or "（无：请先启用提供渠道的插件）"
        raise InvalidInput(
            "unknown_channel",
            f"没有已启用的插件提供通知渠道“{channel}”；可选的有：{choices}。",
            field="petitioner_channel",
        )


def _flat(name: str, rule_pack: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The values an audit row names when they change."""
    out: dict[str, Any] = {"name": name, "rule_pack": rule_pack}
    out.update({k: settings.get(k) for k in OPTIONAL})
    out.update({f"reminders.{k}": v for k, v in (settings.get("reminders") or {}).items()})
    out["notify.petitioner_channel"] = petitioner_channel(settings)
    return out


async def update_settings(scope: Scope, data: TenantSettingsIn) -> TenantSettings:
    """Replace the settings this form holds (other keys of ``settings`` stay)."""
    pack = await _check_pack(scope, data.rule_pack)
    if data.petitioner_channel is not None:
        await _check_channel(scope, data.petitioner_channel)
    name = data.name.strip()
    async with scope.tx():
        row = (
            await Tenant.select(Tenant.name, Tenant.rule_pack, Tenant.settings)
            .where(Tenant.id == scope.tenant_id)
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise NotFound("tenant_not_found", "机构不存在。")
        old = dict(row["settings"] or {})
        new = dict(old)
        for key in OPTIONAL:
            value = getattr(data, key)
            if value is None:
                new.pop(key, None)
            else:
                new[key] = value
        new["reminders"] = {**(old.get("reminders") or {}), **msgspec.to_builtins(data.reminders)}
        if data.petitioner_channel is not None:
            notify = dict(old.get("notify") or {})
            notify["petitioner_channel"] = data.petitioner_channel
            if not data.petitioner_channel:
                notify.pop("petitioner_channel")
            new["notify"] = notify
        before = _flat(row["name"], row["rule_pack"], old)
        after = _flat(name, pack.name, new)
        changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        if changed:
            await Tenant.update(
                {Tenant.name: name, Tenant.rule_pack: pack.name, Tenant.settings: new}
            ).where(Tenant.id == scope.tenant_id)
            # Names only, like plugin settings: the values are in the row itself.
            await audit.append(
                scope.rt,
                scope.tenant_id,
                "tenant.settings_changed",
                target=f"tenant:{scope.tenant_id}",
                detail={"keys": changed},
            )
    return await get_settings(scope)
