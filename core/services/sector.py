"""The seam between the case services and the tenant's sector plugins.

The case services call these functions at fixed points; they call the tenant's enabled
plugins' hooks and turn a plugin's exception into a clear error naming the plugin. A
tenant without plugins gets the plain core behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.plugins import TenantInfo
from core.principal import Principal
from core.runtime import Runtime
from core.schemas import CaseIn


@dataclass
class Prepared:
    """What the plugins decided about a new case before it is written."""

    form: dict[str, Any] = field(default_factory=dict)
    """The sector form data, validated and normalised."""
    department_code: str | None = None
    """Route to this department (by code) unless the clerk chose one."""
    urgency: str = "normal"
    flags: dict[str, Any] = field(default_factory=dict)
    accused: dict[str, Any] = field(default_factory=dict)
    """Who must never see the case: {"user_ids": [...], "department_codes": [...]}."""
    redirect: dict[str, Any] | None = None
    """诉访分离: {"channel": ..., "reason": ...} when the matter belongs elsewhere."""


async def prepare_case(rt: Runtime, tenant: TenantInfo, actor: Principal, data: CaseIn) -> Prepared:
    """Validate the sector form and route the case; runs inside the registration
    transaction, before anything is written."""
    return Prepared(form=dict(data.form))


async def case_event(
    rt: Runtime, tenant: TenantInfo, case: dict[str, Any], kind: str, data: dict[str, Any]
) -> None:
    """Let plugins react to a recorded case event (inside the same transaction)."""
    return None


async def before_transition(
    rt: Runtime, tenant: TenantInfo, case: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    """Let plugins refuse a lifecycle step (raise a DomainError), e.g. police: the
    result must be told to the complainant before closing."""
    return None


def extra_clocks(rt: Runtime, tenant: TenantInfo) -> dict[str, Any]:
    """Sector clocks (``core.domain.rulepacks.ClockRule`` by name) added to the tenant's
    rule pack, e.g. court: retrial petition, execution objection."""
    return {}


async def categories(rt: Runtime, tenant: TenantInfo) -> list[dict[str, Any]]:
    """Every case category available to the tenant: core's plus its plugins'."""
    return []
