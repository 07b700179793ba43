"""Rota expansion for the leader reception day (领导信访接待日) and the court's 四接访.

Pure: a template, a work calendar and the carried rotation state in, planned slots and
the new state out. The service layer stores the slots as rows once published; this package
never sees the database. See docs/rota.md for the rules in prose.

``model`` holds the vocabulary (templates, state, slots), ``days`` which days carry a
reception, ``expansion`` who takes them, ``presets`` ready-made templates.
"""

from core.domain.rota.expansion import balance_report, expand
from core.domain.rota.model import (
    AM_SLOT_DEFAULT_END,
    AM_SLOT_DEFAULT_START,
    HALF_ZH,
    HALVES,
    HOLIDAY_POLICIES,
    PATTERNS,
    PM_SLOT_DEFAULT_END,
    PM_SLOT_DEFAULT_START,
    STANDARD_SLOTS,
    ExpansionResult,
    Half,
    HolidayPolicy,
    Pattern,
    PlannedSlot,
    RotaCalendar,
    RotaState,
    RotaTemplate,
    SkippedDay,
    SkipReason,
    SlotSpec,
    UnfilledSlot,
    slot_key,
)
from core.domain.rota.presets import monday_leader_day

__all__ = [
    "AM_SLOT_DEFAULT_END",
    "AM_SLOT_DEFAULT_START",
    "HALF_ZH",
    "HALVES",
    "HOLIDAY_POLICIES",
    "PATTERNS",
    "PM_SLOT_DEFAULT_END",
    "PM_SLOT_DEFAULT_START",
    "STANDARD_SLOTS",
    "ExpansionResult",
    "Half",
    "HolidayPolicy",
    "Pattern",
    "PlannedSlot",
    "RotaCalendar",
    "RotaState",
    "RotaTemplate",
    "SkipReason",
    "SkippedDay",
    "SlotSpec",
    "UnfilledSlot",
    "balance_report",
    "expand",
    "monday_leader_day",
    "slot_key",
]
