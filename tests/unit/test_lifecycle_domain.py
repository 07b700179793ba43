"""The pure state machine: every action reachable, refusals name what is possible."""

from __future__ import annotations

import pytest

from core.domain.lifecycle import (
    ACTIONS,
    FINISHED,
    STATUS_ZH,
    Actor,
    CaseFacts,
    allowed_actions,
    plan,
)
from core.errors import Conflict, PermissionDenied


def test_every_action_leads_to_a_known_state_from_known_states() -> None:
    for action in ACTIONS.values():
        assert action.sources <= set(STATUS_ZH), action.name
        assert action.target is None or action.target in STATUS_ZH, action.name
        assert action.roles, action.name


def test_every_state_but_archived_has_a_way_on() -> None:
    for status in STATUS_ZH:
        if status == "archived":
            assert allowed_actions(status) == []
        else:
            assert allowed_actions(status), status


def test_every_state_is_reachable_from_registered() -> None:
    seen, frontier = {"registered"}, ["registered"]
    while frontier:
        status = frontier.pop()
        for name in allowed_actions(status):
            target = ACTIONS[name].target
            if target and target not in seen:
                seen.add(target)
                frontier.append(target)
    # Reached through the service, not a plain target: returned (receiver objects),
    # transferred (the sender side of an accepted cross-tenant transfer).
    assert set(STATUS_ZH) - seen == {"returned", "transferred"}


def test_finished_matters_can_only_be_archived_or_followed_up() -> None:
    for status in FINISHED:
        assert "archive" in allowed_actions(status)
        assert not {"accept", "assign", "close"} & set(allowed_actions(status))


def test_illegal_step_is_a_conflict_listing_allowed_steps() -> None:
    with pytest.raises(Conflict) as err:
        plan("registered", "report", frozenset({"handler"}))
    assert err.value.code == "illegal_transition"
    assert "accept" in err.value.details["allowed"]
    assert "受理" in err.value.message


def test_wrong_role_is_refused_with_the_roles_needed() -> None:
    with pytest.raises(PermissionDenied):
        plan("assignment_pending", "approve_assignment", frozenset({"clerk"}))
    step = plan("assignment_pending", "approve_assignment", frozenset({"leader"}))
    assert step.to_status == "in_progress"


def test_unknown_action() -> None:
    with pytest.raises(Conflict) as err:
        plan("registered", "teleport", frozenset({"admin"}))
    assert err.value.code == "unknown_action"


def test_relation_table_in_the_docs_matches_the_code() -> None:
    """docs/lifecycle.md lists every action under the relation RELATIONS gives it."""
    import re
    from pathlib import Path

    from core.domain.lifecycle import RELATIONS

    doc = (Path(__file__).resolve().parents[2] / "docs/lifecycle.md").read_text("utf-8")
    names = {
        "desk": "desk",
        "unit (承办单位)": "unit",
        "assignee": "assignee",
        "take up": "take_up",
    }
    documented: dict[str, str] = {}
    for label, relation in names.items():
        row = re.search(rf"^\| {re.escape(label)} \|[^|]*\| ([^|]+) \|$", doc, re.M)
        assert row, label
        for item in row.group(1).split(","):
            item = item.strip()
            if item.startswith("approve/reject_"):
                rest = item.removeprefix("approve/reject_")
                documented[f"approve_{rest}"] = documented[f"reject_{rest}"] = relation
            else:
                documented[item] = relation
    assert documented == RELATIONS


def test_adopting_a_transferred_contact_is_offered_only_while_a_copy_waits() -> None:
    """「采用转来的联系方式」 needs a pending copy (a cross-tenant transfer's contact data
    not yet adopted); without one the case page must not offer it."""
    clerk = Actor(user_id=1, roles=frozenset({"clerk"}))
    for status in ("registered", "accepted", "closed"):
        without = allowed_actions(status, clerk.roles, actor=clerk, case=CaseFacts())
        waiting = allowed_actions(
            status, clerk.roles, actor=clerk, case=CaseFacts(pending_contact=True)
        )
        assert "adopt_contact" not in without, status
        assert "adopt_contact" in waiting, status
        assert set(waiting) - set(without) == {"adopt_contact"}
