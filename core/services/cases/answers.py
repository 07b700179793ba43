"""What the case services answer (msgspec Structs; the API sends them as they are).

Field order follows the rows they come from, so the JSON is what the dict answers
were, key for key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from msgspec import Struct, field

from core.services.deadlines import ClockOut


class CaseBase(Struct):
    """The columns every case answer starts with (``reading.LIST_COLUMNS``)."""

    id: int
    receipt_code: str
    channel: str
    visit_kind: str
    headcount: int
    is_group: bool
    category: str
    purpose: str
    legal_category: str
    locality: str
    status: str
    urgency: str
    department_id: int | None
    visitor_id: int
    received_at: datetime
    closed_at: datetime | None
    first_contact_closed: bool


class VisitorBrief(Struct):
    """The petitioner on a list line: masked numbers only."""

    id: int
    name: str
    id_number: str | None
    phone: str | None


class CaseListItem(CaseBase):
    """One line of the case list."""

    # The joined visitor columns have always been sent under their query names too;
    # ``visitor`` says the same. Kept so the JSON stays what clients know.
    visitor_name: str = field(name="visitor_id.name")
    visitor_id_number_masked: str = field(name="visitor_id.id_number_masked")
    visitor_phone_masked: str = field(name="visitor_id.phone_masked")
    channel_zh: str
    visitor: VisitorBrief
    status_zh: str = ""
    nearest_due: date | None = None
    """The earliest due date of the matter's running staff clocks (none: no clock runs)."""
    overdue: bool = False
    """A running staff clock is past its due date (Asia/Shanghai today)."""


class CasePage(Struct):
    """A page of the case list, newest first; ``next_after`` asks for the next one."""

    items: list[CaseListItem]
    next_after: int | None


class CaseVisitor(Struct):
    """The petitioner on the case: masked numbers and address."""

    id: int
    name: str
    id_number: str | None
    phone: str | None
    address: str | None
    gender: str | None
    flags: dict[str, Any]


class Representative(Struct):
    """A group visit's representative (or another named person on the case)."""

    name: str
    role: str
    id_number: str | None
    phone: str | None


class CaseEventOut(Struct):
    """One step of the case's history (``case_event`` row)."""

    id: int
    kind: str
    actor_id: int | None
    from_status: str
    to_status: str
    data: dict[str, Any]
    at: datetime


class ContactCopyOut(Struct):
    """The contact details a cross-tenant transfer brought, masked, and whether they
    were adopted into the person record."""

    fields: list[str]
    phone: str | None
    address: str | None
    state: str
    from_tenant: str | None
    from_tenant_name: str | None
    decided_at: datetime | None
    decided_by: int | None


class MatterBrief(Struct):
    """Another matter of the same petitioner the reader may see."""

    id: int
    receipt_code: str
    status: str
    category: str
    received_at: datetime


class CaseDetail(CaseBase):
    """The case as the acting person may see it; also the answer of every handling
    step and notice (the case after it)."""

    cause: str
    demand: str
    form: dict[str, Any]
    flags: dict[str, Any]
    opinion: str
    session_id: int | None
    first_department_id: int | None
    repeat_of_id: int | None
    assigned_from_above: bool
    review_level: int
    opinion_at: datetime | None
    archive_volume_id: int | None
    archived_at: datetime | None
    assignee_id: int | None
    version: int
    channel_zh: str
    visitor: CaseVisitor | None
    representatives: list[Representative]
    events: list[CaseEventOut]
    transfer_contact: ContactCopyOut | None
    earlier_matters: list[MatterBrief]
    deadlines: list[ClockOut]
    status_zh: str
    allowed_actions: list[str]
