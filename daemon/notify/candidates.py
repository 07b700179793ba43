"""What one tick collects: the reminders it may write (candidates), its running state
and its result."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime

from core.domain import reminders
from core.domain.reminders import Policy, Stage
from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar
from daemon.notify.audiences import Audiences
from daemon.notify.privacy import CaseSecrecy

DIGEST_ITEMS = 20


@dataclass
class Candidate:
    case_id: int
    subject: str
    stage: Stage
    due: date
    subject_id: int | None
    receipt_code: str
    recipients: tuple[int, ...]


@dataclass
class TickResult:
    tenant_id: int
    mode: str = "skipped"
    scanned: int = 0
    reminders: int = 0
    notifications: int = 0
    digests: int = 0


@dataclass
class _Run:
    tenant_id: int
    now: datetime
    today: date
    cal: WorkCalendar
    policy: Policy
    audiences: Audiences
    pack: RulePack
    petitioner_windows: Collection[str] = ()
    collect_digest: bool = False
    pending: list[Candidate] = field(default_factory=list)
    digest_pending: list[Candidate] = field(default_factory=list)
    secrecy: CaseSecrecy = field(default_factory=CaseSecrecy)
    result: TickResult = field(default_factory=lambda: TickResult(0))
    digest: dict[int, list[tuple[int, str, int]]] = field(default_factory=lambda: defaultdict(list))
    digest_counts: dict[int, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, c: Candidate) -> None:
        self.pending.append(c)

    def note_for_digest(self, c: Candidate) -> None:
        label = reminders.STAGE_ZH.get(c.stage.kind.split(":")[1], "待办")
        for uid in c.recipients:
            self.digest_counts[uid][label] += 1
            items = self.digest[uid]
            if len(items) < DIGEST_ITEMS:
                items.append((c.stage.level, f"{c.receipt_code} {c.subject}：{label}", c.case_id))
