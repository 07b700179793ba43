"""Object-level checks on case actions (security finding 5): a role is not enough — the
actor must stand in the action's relation to *this* case (core.domain.lifecycle
RELATIONS), and nobody approves their own step (四眼原则). Every refusal is a 403 with
a stable code that leaves the case, its clocks and its events exactly as they were.
Through the API on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.clock import FixedClock
from tests.integration.test_lifecycle import START, register
from tests.integration.test_plugin_sectors import add_departments
from tests.integration.test_repeats_and_accused import staff

pytestmark = pytest.mark.asyncio
H = dict[str, str]


@pytest.fixture
def clock(rt: Any) -> Iterator[FixedClock]:
    saved = rt.clock
    rt.clock = FixedClock(START)
    yield rt.clock
    rt.clock = saved


async def step(
    client: Any, who: H, case_id: int, action: str, status: int = 200, **data: Any
) -> dict[str, Any]:
    r = await client.post(f"/api/v1/cases/{case_id}/actions/{action}", json=data, headers=who)
    assert r.status_code == status, (action, r.text)
    return r.json()  # type: ignore[no-any-return]


async def detail(client: Any, t: Any, case_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v1/cases/{case_id}", headers=t.headers("supervisor"))
    assert r.status_code == 200, r.text
    clocks = await client.get(f"/api/v1/cases/{case_id}/deadlines", headers=t.headers())
    return {**r.json(), "all_clocks": clocks.json()}


async def refused(
    client: Any, t: Any, who: H, case_id: int, action: str, code: str, **data: Any
) -> dict[str, Any]:
    """The step is refused with ``code`` and nothing about the case changed."""
    before = await detail(client, t, case_id)
    err = (await step(client, who, case_id, action, 403, **data))["error"]
    assert err["code"] == code, (action, err)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])  # zh-CN
    assert await detail(client, t, case_id) == before, action
    return err  # type: ignore[no-any-return]


async def in_progress(client: Any, t: Any, handler_id: int, **over: Any) -> int:
    case = await register(client, t, cause=f"楼道照明损坏 {over.pop('n', '')}", **over)
    await step(client, t.headers(), case["id"], "accept")
    await step(client, t.headers(), case["id"], "start_handling", handler_id=handler_id)
    return int(case["id"])


class Office:
    def __init__(self, t: Any, people: dict[str, tuple[dict[str, Any], H]]) -> None:
        self.t = t
        self.people = people

    def h(self, who: str) -> H:
        if who in self.people:
            return self.people[who][1]
        return self.t.headers(who)  # type: ignore[no-any-return]

    def id(self, who: str) -> int:
        if who in self.people:
            return int(self.people[who][0]["id"])
        return int(self.t.users[who]["id"])


async def office(client: Any, rt: Any, make_tenant: Any) -> Office:
    """handler (fixture) and handler2 in 'handling', handler3 in another department;
    solo holds every desk and handling role (one person, several hats)."""
    t = await make_tenant()
    deps = await add_departments(client, t, "other")
    handling = t.departments["handling"]
    people = {
        "handler2": await staff(client, rt, t, "handler2", ["handler"], department_id=handling),
        "handler3": await staff(
            client, rt, t, "handler3", ["handler"], department_id=deps["other"]
        ),
        "solo": await staff(
            client,
            rt,
            t,
            "solo",
            ["clerk", "handler", "leader", "supervisor"],
            department_id=handling,
        ),
        "sup_leader": await staff(
            client, rt, t, "sup_leader", ["supervisor", "leader"], department_id=handling
        ),
    }
    return Office(t, people)


HANDLING_STEPS: dict[str, dict[str, Any]] = {
    "coordinate": {"minutes": "协调会纪要", "department_ids": []},
    "request_extension": {"days": 10, "reason": "需第三方检测"},
    "pause_clock": {"pause_kind": "hearing"},
    "resume_clock": {},
    "report": {"note": "已修复"},
}
ACTORS = {
    "handler": "assigned handler",
    "handler2": "a handler of the assignee's department",
    "handler3": "a handler of another department",
    "supervisor": "a supervisor (督办, by role)",
}
EXPECTED: dict[str, dict[str, str]] = {
    "coordinate": {"handler": "ok", "handler2": "ok", "handler3": "not_your_case"},
    "request_extension": {"handler": "ok", "handler2": "ok", "handler3": "not_your_case"},
    "pause_clock": {"handler": "ok", "handler2": "ok", "handler3": "not_your_case"},
    "resume_clock": {"handler": "ok", "handler2": "ok", "handler3": "not_your_case"},
    # The report is the assignee's own account of the handling.
    "report": {"handler": "ok", "handler2": "not_your_case", "handler3": "not_your_case"},
}
for _row in EXPECTED.values():
    _row["supervisor"] = "ok"
EXPECTED["report"]["supervisor"] = "role_required"


async def test_handling_side_actions_need_the_case_not_just_the_role(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    o = await office(client, rt, make_tenant)
    t = o.t
    seen: dict[str, dict[str, str]] = {}
    for action, data in HANDLING_STEPS.items():
        payload = dict(data)
        if action == "coordinate":
            payload["department_ids"] = list(t.departments.values())
        for actor in ACTORS:
            cid = await in_progress(client, t, o.id("handler"), n=f"{action}-{actor}")
            if action == "resume_clock":
                await step(client, o.h("handler"), cid, "pause_clock", pause_kind="appraisal")
            want = EXPECTED[action][actor]
            if want == "ok":
                after = await step(client, o.h(actor), cid, action, **payload)
                assert after["events"][-1]["kind"] == action
                assert after["events"][-1]["actor_id"] == o.id(actor)
                seen.setdefault(action, {})[actor] = "ok"
            else:
                err = await refused(client, t, o.h(actor), cid, action, want, **payload)
                seen.setdefault(action, {})[actor] = err["code"]
                if want == "not_your_case":
                    assert "承办" in err["message"], err
    assert seen == EXPECTED


async def test_after_handling_the_relation_follows_the_assignees_department(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    """During review (复查) the relation still follows the assignee's department."""
    o = await office(client, rt, make_tenant)
    cid = await in_progress(client, o.t, o.id("handler2"))
    await step(client, o.h("handler2"), cid, "report", note="已处理")
    await step(
        client, o.h("supervisor"), cid, "approve_report", opinion="support", opinion_text="支持"
    )
    await step(client, o.h("clerk"), cid, "request_review", reason="不服")
    await refused(
        client, o.t, o.h("handler3"), cid, "pause_clock", "not_your_case", pause_kind="hearing"
    )
    await step(client, o.h("handler"), cid, "pause_clock", pause_kind="hearing")


async def test_a_handler_takes_up_a_case_only_for_themselves(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    o = await office(client, rt, make_tenant)
    case = await register(client, o.t)
    await step(client, o.h("clerk"), case["id"], "accept")
    await refused(
        client,
        o.t,
        o.h("handler3"),
        case["id"],
        "start_handling",
        "not_your_case",
        handler_id=o.id("handler"),
    )
    after = await step(client, o.h("handler3"), case["id"], "start_handling")
    assert after["assignee_id"] == o.id("handler3")


async def test_four_eyes_nobody_approves_their_own_step(
    client: Any, rt: Any, make_tenant: Any, clock: FixedClock
) -> None:
    o = await office(client, rt, make_tenant)
    t, solo = o.t, o.h("solo")

    # Assignment: assigned by solo to solo, or by the clerk to solo — never approved by solo.
    for assigner in ("solo", "clerk"):
        case = await register(client, t, cause=f"电梯停运 {assigner}")
        cid = case["id"]
        await step(client, o.h("clerk"), cid, "accept")
        await step(client, o.h(assigner), cid, "assign", handler_id=o.id("solo"), plan="核查")
        for action in ("approve_assignment", "reject_assignment"):
            err = await refused(client, t, solo, cid, action, "four_eyes", reason="不同意")
            assert "四眼" in err["message"]
        done = await step(client, o.h("leader"), cid, "approve_assignment")
        assert done["status"] == "in_progress" and done["assignee_id"] == o.id("solo")

    # Extension: whoever asked for it (the assignee, or a supervisor) does not grant it.
    for requester in ("solo", "sup_leader"):
        cid = await in_progress(client, t, o.id("solo"), n=f"ext-{requester}")
        await step(client, o.h(requester), cid, "request_extension", days=10, reason="需检测")
        for action in ("approve_extension", "reject_extension"):
            await refused(client, t, o.h(requester), cid, action, "four_eyes", reason="不同意")
        done = await step(client, o.h("leader"), cid, "approve_extension")
        assert done["events"][-1]["kind"] == "approve_extension"

    # Report: the handler who reported does not review it.
    cid = await in_progress(client, t, o.id("solo"), n="report")
    await step(client, solo, cid, "report", note="已修复")
    await refused(
        client, t, solo, cid, "approve_report", "four_eyes", opinion="support", opinion_text="支持"
    )
    await refused(client, t, solo, cid, "return_report", "four_eyes", reason="重办")
    done = await step(
        client, o.h("supervisor"), cid, "approve_report", opinion="support", opinion_text="支持"
    )
    assert done["status"] == "closed"

    # Nor closes the case they handle with their own opinion.
    cid = await in_progress(client, t, o.id("solo"), n="close")
    await refused(
        client, t, solo, cid, "close", "four_eyes", opinion="support", opinion_text="支持"
    )
    assert (
        await step(client, o.h("leader"), cid, "close", opinion="support", opinion_text="支持")
    )["status"] == "closed"
