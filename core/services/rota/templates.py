"""Rota templates: validated, stored as ``rota_template`` rows, turned back into domain
templates for generation; each carries its rotation state between generations."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from core.db.rota.tables import RotaTemplateRow
from core.domain import rota as dr
from core.errors import Conflict, InvalidInput, NotFound
from core.services import audit
from core.services.rota.answers import RotaTemplateOut, TemplateSlotTimes, TemplateState
from core.services.rota.common import check_leaders
from core.services.rota.schemas import SlotIn, TemplateIn
from core.services.scope import Scope


def _config(data: TemplateIn) -> dict[str, Any]:
    slots = data.slots or [
        SlotIn(s.half, s.start.strftime("%H:%M"), s.end.strftime("%H:%M"))
        for s in dr.STANDARD_SLOTS
    ]
    return {
        "title_zh": data.title_zh,
        "role": data.role,
        "pattern": data.pattern,
        "weekdays": sorted(set(data.weekdays))
        if len(set(data.weekdays)) == len(data.weekdays)
        # duplicates are refused below with a field
        else list(data.weekdays),
        "slots": [{"half": s.half, "start": s.start, "end": s.end} for s in slots],
        "place": data.place,
        "topics": list(data.topics),
        "leaders": list(data.leaders),
        "standby": list(data.standby),
        "leaders_per_slot": data.leaders_per_slot,
        "same_leader_whole_day": data.same_leader_whole_day,
    }


def domain_template(row: dict[str, Any]) -> dr.RotaTemplate:
    """The domain template of a stored ``rota_template`` row."""
    c = row["config"]
    return dr.RotaTemplate(
        key=row["key"],
        title_zh=c["title_zh"],
        role=c["role"],
        pattern=c["pattern"],
        weekdays=frozenset(c["weekdays"]),
        slots=tuple(
            dr.SlotSpec(s["half"], time.fromisoformat(s["start"]), time.fromisoformat(s["end"]))
            for s in c["slots"]
        ),
        place=c["place"],
        topics=tuple(c["topics"]),
        leaders=tuple(c["leaders"]),
        standby=tuple(c["standby"]),
        holiday_policy=row["holiday_policy"],
        makeup_workdays=row["makeup_workdays"],
        leaders_per_slot=c["leaders_per_slot"],
        same_leader_whole_day=c["same_leader_whole_day"],
    )


def rotation_state(row: dict[str, Any], today: date) -> dr.RotaState:
    """The rotation state a template row carries (a fresh one for this year if none)."""
    s = row.get("state") or {}
    if not s:
        return dr.RotaState(year=today.year)
    return dr.RotaState(
        year=int(s["year"]),
        cursor=int(s.get("cursor", 0)),
        counts={int(k): int(v) for k, v in (s.get("counts") or {}).items()},
    )


def state_json(state: dr.RotaState) -> dict[str, Any]:
    return {
        "year": state.year,
        "cursor": state.cursor,
        "counts": {str(k): v for k, v in state.counts.items()},
    }


def _template_out(row: dict[str, Any]) -> RotaTemplateOut:
    c = row["config"]
    return RotaTemplateOut(
        id=row["id"],
        key=row["key"],
        title_zh=row["title"],
        role=c["role"],
        pattern=c["pattern"],
        weekdays=c["weekdays"],
        slots=[TemplateSlotTimes(s["half"], s["start"], s["end"]) for s in c["slots"]],
        place=c["place"],
        topics=c["topics"],
        leaders=c["leaders"],
        standby=c["standby"],
        leaders_per_slot=c["leaders_per_slot"],
        same_leader_whole_day=c["same_leader_whole_day"],
        holiday_policy=row["holiday_policy"],
        makeup_workdays=row["makeup_workdays"],
        horizon_weeks=row["horizon_weeks"],
        state=TemplateState(**(row["state"] or {})),
        active=row["active"],
    )


async def template_rows(scope: Scope, *, active_only: bool = False) -> list[dict[str, Any]]:
    """The scope's stored template rows (JSON loaded), in creation order."""
    q = scope.select(RotaTemplateRow)
    if active_only:
        q = q.where(RotaTemplateRow.active.eq(True))
    return await q.order_by(RotaTemplateRow.id).output(load_json=True)


def _checked_config(data: TemplateIn) -> dict[str, Any]:
    """The stored config of ``data``, checked as the domain checks a template."""
    if len(set(data.weekdays)) != len(data.weekdays):
        raise InvalidInput("duplicate_weekday", "星期中有重复取值。", field="weekdays")
    config = _config(data)
    probe = {
        "key": data.key,
        "config": config,
        "holiday_policy": data.holiday_policy,
        "makeup_workdays": data.makeup_workdays,
    }
    domain_template(probe).validate()
    return config


async def create_template(scope: Scope, data: TemplateIn) -> RotaTemplateOut:
    """Store a validated rota template for the scope's tenant."""
    config = _checked_config(data)
    now = scope.rt.clock.now()
    async with scope.tx():
        await check_leaders(scope, data.leaders, "leaders")
        await check_leaders(scope, data.standby, "standby")
        if await scope.exists(RotaTemplateRow).where(RotaTemplateRow.key == data.key):
            raise Conflict("rota_key_taken", "排班标识已被使用。", field="key")
        rows = await RotaTemplateRow.insert(
            RotaTemplateRow(
                tenant_id=scope.tenant_id,
                key=data.key,
                title=data.title_zh,
                config=config,
                holiday_policy=data.holiday_policy,
                makeup_workdays=data.makeup_workdays,
                horizon_weeks=data.horizon_weeks,
                state={},
                active=True,
                created_at=now,
                updated_at=now,
            )
        ).returning(RotaTemplateRow.id)
        await audit.append(
            scope.rt, scope.tenant_id, "rota.template_created", target=f"rota:{data.key}"
        )
        row = (
            await scope.select(RotaTemplateRow)
            .where(RotaTemplateRow.id == rows[0]["id"])
            .output(load_json=True)
            .first()
        )
    assert row is not None
    return _template_out(row)


async def list_templates(scope: Scope) -> list[RotaTemplateOut]:
    async with scope.tx(write=False):
        rows = await template_rows(scope)
    return [_template_out(r) for r in rows]


async def _template_row(scope: Scope, template_id: int) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await scope.select(RotaTemplateRow)
        .where(RotaTemplateRow.id == template_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("template_not_found", "排班模板不存在。")
    return row


async def get_template(scope: Scope, template_id: int) -> RotaTemplateOut:
    """One template of the scope's tenant (404 for another tenant's or none)."""
    async with scope.tx(write=False):
        return _template_out(await _template_row(scope, template_id))


async def update_template(scope: Scope, template_id: int, data: TemplateIn) -> RotaTemplateOut:
    """Replace a template's settings (checked as on creation; the key stays). The
    rotation state is kept; slots already generated stay as they are (drafts and published alike): the
    change applies to the slots generated from now on."""
    config = _checked_config(data)
    now = scope.rt.clock.now()
    async with scope.tx():
        current = await _template_row(scope, template_id)
        # The people first: an id that is not the tenant's is named whatever else is wrong.
        await check_leaders(scope, data.leaders, "leaders")
        await check_leaders(scope, data.standby, "standby")
        if current["key"] != data.key:
            # Slot keys (and the iCal UIDs) start with it: a new key would plan every
            # day again beside the slots already stored.
            raise InvalidInput("rota_key_fixed", "排班标识创建后不能修改。", field="key")
        await scope.update(
            RotaTemplateRow,
            {
                RotaTemplateRow.title: data.title_zh,
                RotaTemplateRow.config: config,
                RotaTemplateRow.holiday_policy: data.holiday_policy,
                RotaTemplateRow.makeup_workdays: data.makeup_workdays,
                RotaTemplateRow.horizon_weeks: data.horizon_weeks,
                RotaTemplateRow.updated_at: now,
            },
        ).where(RotaTemplateRow.id == template_id)
        await audit.append(
            scope.rt, scope.tenant_id, "rota.template_updated", target=f"rota:{data.key}"
        )
        row = await _template_row(scope, template_id)
    return _template_out(row)
