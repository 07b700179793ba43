"""The public plugin API: the one part of core a plugin imports.

``from core.plugin_api import hookimpl, HookContext, Category, InvalidInput, …``. It is
the hook specifications and their marker, the context hooks get (clock, settings,
facades onto core — never the runtime, tables or services), the typed shapes hooks
return, the refusals a plugin may raise and a few pure helpers. It stands on pure
ground only (errors, links, principal, schemas, the rule-pack types): the import
contracts in ``pyproject.toml`` forbid plugins every other part of core, and forbid
this package the database, the services and the web. See docs/plugins.md.
"""

from __future__ import annotations

from core.domain.rulepacks import ClockRule
from core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from core.links import case_url
from core.plugin_api.context import (
    AccusedDraft,
    Actor,
    CaseDraft,
    Cases,
    CaseView,
    Clock,
    Deadlines,
    Events,
    Facades,
    HookContext,
    Person,
    Repeats,
    Staff,
    StaffMember,
    Visitors,
)
from core.plugin_api.forms import DATATYPES, Choice, FormField, clean_form
from core.plugin_api.hookspecs import PROJECT, hookimpl, hookspec
from core.plugin_api.types import (
    URGENCY_ORDER,
    Accused,
    Category,
    Document,
    NotificationChannel,
    PluginInfo,
    Redirect,
    ReportSection,
    RotaSlot,
    RotaTemplate,
    Route,
    TenantInfo,
)
from core.plugin_api.web import RouteContext, requires
from core.schemas import Id

__all__ = [
    "DATATYPES",
    "PROJECT",
    "URGENCY_ORDER",
    "Accused",
    "AccusedDraft",
    "Actor",
    "CaseDraft",
    "CaseView",
    "Cases",
    "Category",
    "Choice",
    "Clock",
    "ClockRule",
    "Conflict",
    "Deadlines",
    "Document",
    "DomainError",
    "Events",
    "Facades",
    "FormField",
    "HookContext",
    "Id",
    "InvalidInput",
    "NotFound",
    "NotificationChannel",
    "PermissionDenied",
    "Person",
    "PluginInfo",
    "Redirect",
    "Repeats",
    "ReportSection",
    "RotaSlot",
    "RotaTemplate",
    "Route",
    "RouteContext",
    "Staff",
    "StaffMember",
    "TenantInfo",
    "Visitors",
    "case_url",
    "clean_form",
    "hookimpl",
    "hookspec",
    "requires",
]
