"""Rota tables: rota templates, generated slots, leave, recorded changes, private feed
tokens. Every table is tenant-owned; indexes lead with ``tenant_id`` and RLS is enabled
by ``core/db/rota/migrations/m0002_rota_tenancy.py``."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from core.db.tables import Tenant


class RotaTemplateRow(Table, tablename="rota_template"):
    """A rota definition (see core.domain.rota.RotaTemplate) plus its carried rotation
    state (``state``: year, cursor, counts) and the generation horizon."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    key = Varchar(length=64)
    title = Varchar(length=200)
    config = JSONB(default={})
    holiday_policy = Varchar(length=31, default="skip")
    makeup_workdays = Boolean(default=False)
    horizon_weeks = Integer(default=8)
    state = JSONB(default={})
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RotaSlot(Table, tablename="rota_slot"):
    """One generated half-day slot. ``slot_key`` is the planning identity (changes when a
    provisional slot moves); ``uid_key`` never changes and is the iCal UID basis."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    template_id = Integer()
    slot_key = Varchar(length=200)
    uid_key = Varchar(length=200)
    day = Date()
    original_day = Date(null=True, default=None)
    half = Varchar(length=2)
    position = Integer(default=0)
    starts_at = Time()
    ends_at = Time()
    place = Varchar(length=200, default="")
    topics = JSONB(default=[])
    role = Varchar(length=63, default="leader_day")
    title = Varchar(length=200, default="")
    leader_id = Integer(null=True, default=None)
    standby_used = Boolean(default=False)
    provisional = Boolean(default=False)
    status = Varchar(length=16, default="draft")
    sequence = Integer(default=0)
    session_id = Integer(null=True, default=None)
    note = Text(default="")
    published_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class LeaderLeave(Table, tablename="leader_leave"):
    """A leader's unavailability (inclusive day range)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    user_id = Integer()
    first_day = Date()
    last_day = Date()
    reason = Varchar(length=200, default="")
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class RotaChange(Table, tablename="rota_change"):
    """A recorded change of a slot: ``swap`` (requested by a leader, decided by an
    admin), ``override`` (admin), ``leave`` (draft re-assigned), ``calendar`` (moved or
    cancelled by a calendar import). ``status``: requested / approved / rejected / applied."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    slot_id = Integer()
    kind = Varchar(length=16)
    status = Varchar(length=16, default="applied")
    from_leader_id = Integer(null=True, default=None)
    to_leader_id = Integer(null=True, default=None)
    reason = Text(default="")
    requested_by = Integer(null=True, default=None)
    decided_by = Integer(null=True, default=None)
    data = JSONB(default={})
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)


class FeedToken(Table, tablename="feed_token"):
    """A leader's private iCal feed token. Only its SHA-256 is stored."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    user_id = Integer()
    token_hash = Varchar(length=64)
    prefix = Varchar(length=16, default="")
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


ROTA_TABLES: tuple[type[Table], ...] = (
    RotaTemplateRow,
    RotaSlot,
    LeaderLeave,
    RotaChange,
    FeedToken,
)
