"""Leader reception rota (领导信访接待日): templates, generation, publishing, swaps,
overrides, leave, calendar re-evaluation, reminders and the iCal/JSON feeds.

The pure planning is ``core.domain.rota.expand``; this package loads its inputs, stores
its output as ``rota_slot`` rows and keeps published slots frozen: once published a slot
only changes by a recorded swap, override or calendar import, each of which bumps the
slot's SEQUENCE, updates its reception session and notifies the leaders affected through
the outbox (dedupe keys carry the slot's stable UID key and SEQUENCE, so a change
notifies once, never twice). See docs/rota.md.

Every function takes a :class:`~core.services.scope.Scope` first; the jobs over all
tenants (``generate_all``, ``write_reminders_all``, ``reevaluate_provisional``) take the
runtime and build a system scope per tenant. Answers are the Structs of ``answers``.
"""

from core.services.rota.answers import (
    DemoRotaResult,
    FeedTokenInfo,
    FeedTokenOut,
    GenerateAllResult,
    GeneratePreview,
    GenerateResult,
    LeaveOut,
    LeaveResult,
    PreviewSkipped,
    PreviewSlot,
    PublicLeader,
    PublicSchedule,
    PublicSlot,
    PublicTenant,
    PublishResult,
    RevokeResult,
    RotaChangeOut,
    RotaSlotOut,
    RotaTemplateOut,
    TemplateSlotTimes,
    TemplateState,
)
from core.services.rota.changes import decide_swap, list_changes, override, request_swap
from core.services.rota.common import SLOT_COLUMNS
from core.services.rota.demo import install_demo_rota
from core.services.rota.feeds import (
    PUBLIC_PAST_DAYS,
    create_feed_token,
    feed_path,
    feed_tokens,
    leader_ics,
    public_ics,
    public_schedule,
    revoke_feed_tokens,
)
from core.services.rota.generation import generate, generate_all, preview_generation
from core.services.rota.leave import add_leave, list_leave
from core.services.rota.reevaluate import reevaluate_provisional
from core.services.rota.reminders import (
    EVE_REMINDER_AT,
    MORNING_REMINDER_AT,
    write_reminders,
    write_reminders_all,
)
from core.services.rota.schemas import (
    LeaveIn,
    OverrideIn,
    PublishIn,
    SlotIn,
    SwapIn,
    TemplateIn,
)
from core.services.rota.slots import get_slot, list_slots, publish
from core.services.rota.templates import (
    create_template,
    domain_template,
    get_template,
    list_templates,
    update_template,
)

__all__ = [
    "EVE_REMINDER_AT",
    "MORNING_REMINDER_AT",
    "PUBLIC_PAST_DAYS",
    "SLOT_COLUMNS",
    "DemoRotaResult",
    "FeedTokenInfo",
    "FeedTokenOut",
    "GenerateAllResult",
    "GeneratePreview",
    "GenerateResult",
    "LeaveIn",
    "LeaveOut",
    "LeaveResult",
    "OverrideIn",
    "PreviewSkipped",
    "PreviewSlot",
    "PublicLeader",
    "PublicSchedule",
    "PublicSlot",
    "PublicTenant",
    "PublishIn",
    "PublishResult",
    "RevokeResult",
    "RotaChangeOut",
    "RotaSlotOut",
    "RotaTemplateOut",
    "SlotIn",
    "SwapIn",
    "TemplateIn",
    "TemplateSlotTimes",
    "TemplateState",
    "add_leave",
    "create_feed_token",
    "create_template",
    "decide_swap",
    "domain_template",
    "feed_path",
    "feed_tokens",
    "generate",
    "generate_all",
    "get_slot",
    "get_template",
    "install_demo_rota",
    "leader_ics",
    "list_changes",
    "list_leave",
    "list_slots",
    "list_templates",
    "override",
    "preview_generation",
    "public_ics",
    "public_schedule",
    "publish",
    "reevaluate_provisional",
    "request_swap",
    "revoke_feed_tokens",
    "update_template",
    "write_reminders",
    "write_reminders_all",
]
