"""Core tables — the schema of record.

Every tenant-owned table carries ``tenant_id``; every unique key and index leads with it
(composite indexes and row-level security are created by the raw migration
``0002_tenancy``). Personal data (ID numbers, phones, addresses) is stored encrypted,
next to a keyed hash for exact-match lookup and a masked form for lists.
"""

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


class Tenant(Table, tablename="tenant"):
    """An organization. Global (not tenant-owned): resolving a request starts here."""

    id: Serial
    slug = Varchar(length=63, unique=True)
    name = Varchar(length=200)
    rule_pack = Varchar(length=63, default="cn-2022")
    timezone = Varchar(length=63, default="Asia/Shanghai")
    settings = JSONB(default={})
    open311_key_hash = Varchar(length=64, null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


class TenantPlugin(Table, tablename="tenant_plugin"):
    """Which sector plugins a tenant enabled, with its per-tenant plugin settings."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    plugin = Varchar(length=63)
    enabled = Boolean(default=True)
    config = JSONB(default={})
    updated_at = Timestamptz()


class Department(Table, tablename="department"):
    """部门/科室/庭/所队 inside a tenant."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    code = Varchar(length=63)
    name = Varchar(length=200)
    kind = Varchar(length=31, default="office")
    parent_id = Integer(null=True, default=None)
    created_at = Timestamptz()


class StaffUser(Table, tablename="staff_user"):
    """Reception staff, leaders, handlers, supervisors and admins of one tenant."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    username = Varchar(length=63)
    display_name = Varchar(length=100)
    password_hash = Varchar(length=255)
    roles = JSONB(default=[])
    department_id = Integer(null=True, default=None)
    title = Varchar(length=100, default="")
    email = Varchar(length=254, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class ApiToken(Table, tablename="api_token"):
    """Bearer tokens. Only the SHA-256 of the token is stored."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    user_id = ForeignKey(references=StaffUser, null=False)
    name = Varchar(length=100)
    token_hash = Varchar(length=64)
    prefix = Varchar(length=16)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class Visitor(Table, tablename="visitor"):
    """A petitioner (信访人). One file per person (立户)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    name = Varchar(length=100)
    name_hash = Varchar(length=64)
    id_number_enc = Text(null=True, default=None)
    id_number_hash = Varchar(length=64, null=True, default=None)
    id_number_masked = Varchar(length=32, default="")
    phone_enc = Text(null=True, default=None)
    phone_hash = Varchar(length=64, null=True, default=None)
    phone_masked = Varchar(length=32, default="")
    address_enc = Text(null=True, default=None)
    address_masked = Varchar(length=200, default="")
    email_enc = Text(null=True, default=None)
    """Contact email given through Open311; nothing shows it yet, so no masked form."""
    gender = Varchar(length=8, default="")
    flags = JSONB(default={})
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PetitionCase(Table, tablename="petition_case"):
    """One matter (信访事项)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    receipt_code = Varchar(length=32)
    visitor_id = ForeignKey(references=Visitor, null=False)
    channel = Varchar(length=16)
    visit_kind = Varchar(length=16, default="first")
    headcount = Integer(default=1)
    is_group = Boolean(default=False)
    category = Varchar(length=63, default="general")
    purpose = Varchar(length=31, default="personal")
    legal_category = Varchar(length=31, default="claim")
    locality = Varchar(length=200, default="")
    cause = Text()
    demand = Text(default="")
    form = JSONB(default={})
    status = Varchar(length=31, default="registered")
    urgency = Varchar(length=16, default="normal")
    department_id = Integer(null=True, default=None)
    first_department_id = Integer(null=True, default=None)
    assignee_id = Integer(null=True, default=None)
    session_id = Integer(null=True, default=None)
    registered_by = Integer(null=True, default=None)
    received_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    first_contact_closed = Boolean(default=False)
    opinion = Varchar(length=16, default="")
    repeat_of_id = Integer(null=True, default=None)
    flags = JSONB(default={})
    accused = JSONB(default={})
    opinion_at = Timestamptz(null=True, default=None)
    review_level = Integer(default=0)
    """0 original handling, 1 复查 requested/decided, 2 复核 (final after decision)."""
    assigned_from_above = Boolean(default=False)
    archive_volume_id = Integer(null=True, default=None)
    archived_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CaseParticipant(Table, tablename="case_participant"):
    """Representatives (代表) of a group visit, and other named persons on a case."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    role = Varchar(length=31, default="representative")
    name = Varchar(length=100)
    id_number_enc = Text(null=True, default=None)
    id_number_hash = Varchar(length=64, null=True, default=None)
    id_number_masked = Varchar(length=32, default="")
    phone_enc = Text(null=True, default=None)
    phone_masked = Varchar(length=32, default="")


class ReceptionSession(Table, tablename="reception_session"):
    """A reception slot (接待场次): a leader's or a desk's half-day at a place."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    day = Date()
    half = Varchar(length=2)
    starts_at = Time()
    ends_at = Time()
    place = Varchar(length=200)
    topics = JSONB(default=[])
    kind = Varchar(length=31, default="leader_day")
    leader_id = Integer(null=True, default=None)
    department_id = Integer(null=True, default=None)
    status = Varchar(length=16, default="draft")
    provisional = Boolean(default=False)
    slot_key = Varchar(length=200, null=True, default=None)
    sequence = Integer(default=0)
    note = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CaseEvent(Table, tablename="case_event"):
    """Append-only log of every step of a case (who, when, what, old → new state)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    kind = Varchar(length=63)
    actor_id = Integer(null=True, default=None)
    from_status = Varchar(length=31, default="")
    to_status = Varchar(length=31, default="")
    data = JSONB(default={})
    at = Timestamptz()


class Outbox(Table, tablename="outbox"):
    """Notifications written in the business transaction, delivered by the worker."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    kind = Varchar(length=63)
    dedupe_key = Varchar(length=255)
    recipient_id = Integer(null=True, default=None)
    channel = Varchar(length=31, default="inbox")
    payload = JSONB(default={})
    created_at = Timestamptz()
    available_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(default="")


class WorkCalendarDay(Table, tablename="work_calendar_day"):
    """Official calendar overrides of the weekend default (global, not tenant-owned)."""

    id: Serial
    day = Date(unique=True)
    kind = Varchar(length=16)
    name = Varchar(length=63, default="")


class WorkCalendarYear(Table, tablename="work_calendar_year"):
    """Years whose official calendar is known; other years are provisional."""

    id: Serial
    year = Integer(unique=True)
    source = Varchar(length=200, default="")
    imported_at = Timestamptz()


class CaseDeadline(Table, tablename="case_deadline"):
    """One running statutory clock of a case, with how it was counted.

    ``state``: open (running) → met (the step happened) | cancelled (step no longer
    due) | superseded (recomputed: a calendar import, an extension, a pause)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    clock = Varchar(length=31)
    started_on = Date()
    due = Date()
    days = Integer()
    mode = Varchar(length=16)
    pack = Varchar(length=63)
    pack_version = Varchar(length=31)
    provisional = Boolean(default=False)
    pauses = JSONB(default=[])
    steps = JSONB(default=[])
    state = Varchar(length=16, default="open")
    responsible_department_id = Integer(null=True, default=None)
    responsible_user_id = Integer(null=True, default=None)
    met_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CaseTransfer(Table, tablename="case_transfer"):
    """A transfer (转送) seen from one side: ``out`` in the sender's tenant, ``in`` in
    the receiver's (a cross-tenant transfer writes one row in each)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    direction = Varchar(length=8)
    peer_tenant_id = Integer()
    peer_case_id = Integer(null=True, default=None)
    from_department_id = Integer(null=True, default=None)
    to_department_id = Integer(null=True, default=None)
    status = Varchar(length=16, default="pending")
    note = Text(default="")
    reason = Text(default="")
    objection_due = Date(null=True, default=None)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    # On an ``in`` row: the sender's contact data where it differs from the receiver's
    # person record — a copy for review, encrypted; adopted only by the receiver's staff.
    phone_enc = Text(null=True, default=None)
    phone_masked = Varchar(length=32, default="")
    address_enc = Text(null=True, default=None)
    address_masked = Varchar(length=200, default="")
    contact_state = Varchar(length=16, default="")
    """'' (no copy) | pending | adopted."""
    contact_decided_at = Timestamptz(null=True, default=None)
    contact_decided_by = Integer(null=True, default=None)


class CaseExclusion(Table, tablename="case_exclusion"):
    """Accused-party exclusion (检举控告): this user / department never sees the case."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    user_id = Integer(null=True, default=None)
    department_id = Integer(null=True, default=None)
    staff_ref = Varchar(length=64, default="")
    """Keyed hash of a name the accusation gives (e.g. 警号): whoever has it as username
    or title, now or later (``core.services.visibility``)."""
    kind = Varchar(length=16, default="accused")
    """accused: hidden from them; recused: may see but not be assigned or approve."""
    reason = Text(default="")
    created_at = Timestamptz()


class ArchiveVolume(Table, tablename="archive_volume"):
    """立卷归档: one volume per petitioner per year; closed matters filed chronologically."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    visitor_id = ForeignKey(references=Visitor, null=False)
    year = Integer()
    volume_code = Varchar(length=63)
    created_at = Timestamptz()


class CaseAttachment(Table, tablename="case_attachment"):
    """A scanned letter or a piece of evidence on a case (PDF, JPEG, PNG — by content).

    The bytes live under the data directory by content hash (``core.services.
    attachments``): the same content is stored once per tenant however many cases carry
    it. UNIQUE (tenant_id, case_id, sha256)."""

    id: Serial
    tenant_id = ForeignKey(references=Tenant, null=False)
    case_id = ForeignKey(references=PetitionCase, null=False)
    sha256 = Varchar(length=64)
    size = Integer()
    content_type = Varchar(length=63)
    filename = Varchar(length=255)
    """As uploaded, made safe (no path, no control characters, the type's extension)."""
    uploaded_by = Integer(null=True, default=None)
    uploaded_at = Timestamptz()


class AuditLog(Table, tablename="audit_log"):
    """Append-only, hash-chained record of who did what (``core/services/audit/``).

    One chain per tenant; ``tenant_id`` 0 is the deployment's own chain (events without a
    tenant: a login for an unknown organization, tenant creation, calendar import), so
    it is a plain integer, not a foreign key. ``detail`` is canonical JSON text, hashed
    as stored; it never holds personal data, passwords or tokens."""

    id: Serial
    tenant_id = Integer()
    seq = Integer()
    at = Timestamptz()
    actor_id = Integer(null=True, default=None)
    actor = Varchar(length=127, default="")
    action = Varchar(length=63)
    target = Varchar(length=127, default="")
    detail = Text(default="{}")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditHead(Table, tablename="audit_head"):
    """The newest link of each tenant's audit chain; its row lock serializes appends."""

    id: Serial
    tenant_id = Integer()
    seq = Integer(default=0)
    hash = Varchar(length=64)


TENANT_TABLES: tuple[type[Table], ...] = (
    TenantPlugin,
    Department,
    StaffUser,
    ApiToken,
    Visitor,
    PetitionCase,
    CaseParticipant,
    ReceptionSession,
    CaseEvent,
    Outbox,
    CaseDeadline,
    CaseTransfer,
    CaseExclusion,
    ArchiveVolume,
    CaseAttachment,
    AuditLog,
    AuditHead,
)
GLOBAL_TABLES: tuple[type[Table], ...] = (Tenant, WorkCalendarDay, WorkCalendarYear)
ALL_TABLES: tuple[type[Table], ...] = GLOBAL_TABLES + TENANT_TABLES
