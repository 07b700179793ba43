"""What the account, tenant, department, reception-session, calendar, petitioner,
inbox, plugin-admin and sector services answer (msgspec Structs; the API sends them as they are).

Field order follows the rows they come from, so the JSON is what the dict answers
were, key for key. (The rota's and the cases' answers live in their packages.)
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from msgspec import Struct

from core.plugin_api import (
    Category,
    Document,
    FormField,
    NotificationChannel,
    ReportSection,
    RotaTemplate,
)

# --- Accounts and tokens (core.services.users) ---------------------------------------


class UserOut(Struct):
    """A staff account; never its password hash or e-mail."""

    id: int
    username: str
    display_name: str
    roles: list[str]
    department_id: int | None
    title: str
    active: bool


class UnlockedUser(UserOut):
    """The account after an admin lifted a login lock; ``was_locked`` says whether
    there was one (the failure count is cleared either way)."""

    was_locked: bool


class NewToken(Struct):
    """A token just made: ``token`` is shown this once and never stored."""

    token: str
    id: int
    name: str
    expires_at: datetime


class TokenOut(Struct):
    """A stored API token: its first characters (``prefix``), never the secret."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    """None only on tokens stored before every token had an expiry."""
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenListItem(TokenOut):
    """A token in a list, with the username of its owner."""

    username: str


class PasswordChanged(Struct):
    changed: bool
    sessions_revoked: int
    """How many other login sessions of the user ended."""


# --- Tenants (core.services.tenants) -------------------------------------------------


class TenantBrief(Struct):
    """The caller's tenant as ``/me`` shows it: enabled plugins, sorted."""

    slug: str
    name: str
    rule_pack: str
    plugins: list[str]


class MeOut(Struct):
    user: UserOut
    tenant: TenantBrief


class TenantListItem(Struct):
    id: int
    slug: str
    name: str
    rule_pack: str


# --- Departments (core.services.departments) -----------------------------------------


class DepartmentOut(Struct):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None


# --- Reception sessions (core.services.sessions) -------------------------------------


class SessionOut(Struct):
    """A reception session (接待场次): a leader's or a desk's half-day at a place."""

    id: int
    day: date
    half: Literal["am", "pm"]
    starts_at: time
    ends_at: time
    place: str
    topics: list[str]
    kind: str
    leader_id: int | None
    department_id: int | None
    status: str
    provisional: bool
    sequence: int
    """How often it changed after publishing (the rota's iCal SEQUENCE)."""
    note: str


class SessionCase(Struct):
    """A matter registered at the session (one the reader may see)."""

    id: int
    receipt_code: str
    status: str


class SessionDetail(SessionOut):
    cases: list[SessionCase]


# --- The work calendar (core.services.calendar) --------------------------------------


class CalendarDay(Struct):
    date: date
    name: str


class CalendarYear(Struct):
    """A year's holidays and make-up working days; ``provisional`` until the official
    notice for it is imported (then weekends off, no holidays)."""

    year: int
    provisional: bool
    holidays: list[CalendarDay]
    makeup_workdays: list[CalendarDay]


# --- Petitioners (core.services.visitors) --------------------------------------------


class VisitorOut(Struct):
    """A petitioner as lists show them: numbers and address masked, absent ones null."""

    id: int
    name: str
    id_number: str | None
    phone: str | None
    address: str | None
    gender: Literal["male", "female"] | None
    flags: dict[str, Any]


class RegisteredVisitor(VisitorOut):
    """``created`` is false when the person was already on file (found by ID number,
    else by name and phone); what was missing was filled in."""

    created: bool


class VisitorMatter(Struct):
    """One of the petitioner's matters the reader may see."""

    id: int
    receipt_code: str
    status: str
    category: str
    received_at: datetime


class VisitorDetail(VisitorOut):
    cases: list[VisitorMatter]
    """Oldest first."""


# --- The inbox (core.services.inbox) -------------------------------------------------


class InboxMessageOut(Struct):
    """A message of the reader's own; times in Asia/Shanghai."""

    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class InboxPage(Struct):
    """Newest first; ``next_before`` asks for the next page (null on the last)."""

    items: list[InboxMessageOut]
    unread: int
    next_before: int | None


class UnreadCount(Struct):
    unread: int


class MarkedRead(Struct):
    marked: int


# --- Plugins and their sector data (core.services.plugin_admin, core.services.sector) --


class PluginOut(Struct):
    """An installed plugin with the tenant's state and effective settings."""

    name: str
    title_zh: str
    version: str
    description: str
    enabled: bool
    config: dict[str, Any]


class CategoryOut(Category, kw_only=True):
    """A case category the tenant may use; ``plugin`` owns it (None: a core category)."""

    plugin: str | None


class FormFieldOut(FormField, kw_only=True):
    """A category's form field as shown: ``order`` always set, ``pii`` marks personal data
    (never shown publicly)."""

    pii: bool


class CategoryForm(CategoryOut, kw_only=True):
    """A category with its form fields, in order."""

    fields: list[FormFieldOut]


class RotaTemplateOut(RotaTemplate, kw_only=True):
    """A plugin's rota template (defaults left out, as the plugin's own answer)."""

    plugin: str


class DocumentOut(Document, kw_only=True):
    plugin: str


class ReportSectionOut(ReportSection, kw_only=True):
    plugin: str


class NotificationChannelOut(NotificationChannel, kw_only=True):
    plugin: str
