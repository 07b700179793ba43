"""Who may hear about a case: the case page's own rule, for every recipient.

A report or accusation is never disclosed to the person accused (条例 Art 30) — through
any channel. Rather than a second copy of that rule, the tick and the delivery ask
``core.services.visibility.hidden_from`` — the predicate behind case lists and details —
for each recipient at the moment they would be told, so a change to the accused set (or
to how it is matched) applies to reminders, escalation, digests, inbox, e-mail and
plugin channels at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.principal import Principal
from core.security import Keys
from core.services.users import principal_from_row
from core.services.visibility import hidden_from


def principal_of(keys: Keys, tenant_slug: str, row: dict[str, Any]) -> Principal:
    """A staff row (id, tenant_id, username, title, display_name, roles, department_id)
    as the Principal the web would build for them — badge/title matches included."""
    return principal_from_row(keys, tenant_slug, row)


class CaseSecrecy:
    """Per recipient, the cases they must not hear about — read once per tick or
    delivery batch, inside its tenant transaction."""

    def __init__(self) -> None:
        self._hidden: dict[int, frozenset[int]] = {}

    async def load(self, people: Iterable[Principal]) -> None:
        for p in people:
            if p.user_id not in self._hidden:
                rows = await hidden_from(p).output(as_list=True)
                self._hidden[p.user_id] = frozenset(int(c) for c in rows)

    @property
    def anything_hidden(self) -> bool:
        return any(self._hidden.values())

    def hides(self, user_id: int, case_ids: Iterable[int]) -> bool:
        """True when any of ``case_ids`` is hidden from ``user_id`` (who must be loaded)."""
        hidden = self._hidden[user_id]
        return bool(hidden) and any(c in hidden for c in case_ids)
