"""What a new matter is (core.domain.registration), decided without a database: status,
visit kind, group visits and their representatives, flags, routing, the matter
answered on the spot or redirected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from core.domain import registration
from core.domain.registration import Facts, Routing
from core.errors import InvalidInput
from core.rulepacks import load_pack
from core.schemas import AccusedIn, CaseIn, PersonIn, VisitorIn

CN = load_pack("cn-2022")
NOW = datetime(2026, 9, 16, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Earlier:
    case_id: int
    receipt_code: str
    score: float


def case(**kw: Any) -> CaseIn:
    kw.setdefault("visitor", VisitorIn(name="张三"))
    return CaseIn(channel="visit", cause="暖气不热", **kw)


def reps(n: int) -> list[PersonIn]:
    return [PersonIn(name=f"代表{i}") for i in range(n)]


def refusal(data: CaseIn, pack: Any = CN) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        registration.decide(data, pack, Facts(now=NOW))
    return exc.value


def test_a_plain_visit_is_registered_first_with_its_two_clocks() -> None:
    r = registration.decide(case(), CN, Facts(now=NOW))
    assert (r.status, r.visit_kind, r.is_group) == ("registered", "first", False)
    assert r.clocks == ("accept", "notify")
    assert (r.closed_at, r.opinion, r.opinion_at, r.outcome) == (None, "", None, None)
    assert not r.first_contact_closed
    assert r.flags == {}
    assert r.registered == {"channel": "visit", "headcount": 1, "visit_kind": "first"}


def test_a_repeat_names_the_earlier_matter() -> None:
    earlier = Earlier(7, "260901-ABCDEFGH", 91.5)
    r = registration.decide(case(), CN, Facts(now=NOW, repeat=earlier))
    assert r.visit_kind == "repeat"
    assert r.repeat_of_id == 7
    assert r.flags["repeat"] == {"of": "260901-ABCDEFGH", "case_id": 7, "score": 91.5}
    assert r.registered["repeat_of"] == "260901-ABCDEFGH"


def test_other_peoples_similar_matters_are_shown_not_counted() -> None:
    related = [Earlier(3, "A", 80.0), Earlier(4, "B", 75.0)]
    r = registration.decide(case(), CN, Facts(now=NOW, related=related))
    assert r.visit_kind == "first"
    assert r.repeat_of_id is None
    assert r.flags["related"] == [
        {"of": "A", "case_id": 3, "score": 80.0},
        {"of": "B", "case_id": 4, "score": 75.0},
    ]


def test_sector_flags_come_first_then_the_cores() -> None:
    facts = Facts(now=NOW, sector_flags={"incident": {"size": 2}}, repeat=Earlier(1, "X", 99))
    r = registration.decide(case(skip_level=True), CN, facts)
    assert list(r.flags) == ["incident", "repeat", "skip_level"]
    assert r.flags["skip_level"] is True


def test_a_group_visit_needs_its_representatives() -> None:
    assert CN.group_visit_min_headcount == 5
    r = registration.decide(case(headcount=4), CN, Facts(now=NOW))
    assert not r.is_group
    exc = refusal(case(headcount=5))
    assert (exc.code, exc.field) == ("representatives_required", "representatives")
    r = registration.decide(case(headcount=5, representatives=reps(2)), CN, Facts(now=NOW))
    assert r.is_group
    assert r.registered["headcount"] == 5


def test_a_group_visit_sends_no_more_representatives_than_the_pack_allows() -> None:
    exc = refusal(case(headcount=20, representatives=reps(6)))
    assert exc.code == "too_many_representatives"
    assert exc.details == {"limit": 5, "pack": "cn-2022"}
    zj = load_pack("zhejiang")
    limit = zj.representative_limit(10)
    assert limit < 5  # a tiered pack: fewer for a smaller group
    exc = refusal(case(headcount=10, representatives=reps(limit + 1)), zj)
    assert exc.details["limit"] == limit
    ok = registration.decide(case(headcount=10, representatives=reps(limit)), zj, Facts(now=NOW))
    assert ok.is_group


def test_answered_on_the_spot_closes_at_first_contact() -> None:
    r = registration.decide(case(answered_on_spot="已当场解释政策"), CN, Facts(now=NOW))
    assert r.status == "closed"
    assert r.first_contact_closed
    assert (r.closed_at, r.opinion, r.opinion_at) == (NOW, "explain", NOW)
    assert r.clocks == ()
    assert r.outcome == (
        "closed_at_first_contact",
        {"opinion": "explain", "answer": "已当场解释政策"},
    )
    blank = registration.decide(case(answered_on_spot="   "), CN, Facts(now=NOW))
    assert blank.status == "registered"


def test_a_redirect_is_not_accepted_even_when_answered_on_the_spot() -> None:
    redirect = {"channel": "litigation", "reason": "申请再审", "notice": "请向法院申请再审"}
    facts = Facts(now=NOW, redirect=redirect)
    r = registration.decide(case(answered_on_spot="已解释"), CN, facts)
    assert r.status == "not_accepted"
    assert (r.closed_at, r.opinion, r.opinion_at) == (None, "", NOW)
    assert r.clocks == ()
    assert r.outcome == ("redirected", redirect)
    assert not r.first_contact_closed


def test_routing_applies_only_when_the_clerk_chose_no_department() -> None:
    routed = Facts(now=NOW, routing=Routing("heating", 12))
    assert registration.decide(case(), CN, routed).department_id == 12
    assert registration.decide(case(department_id=3), CN, routed).department_id == 3
    unresolved = registration.decide(case(), CN, Facts(now=NOW, routing=Routing("nowhere", None)))
    assert unresolved.department_id is None
    assert unresolved.flags["routing_unresolved"] == "nowhere"
    assert registration.decide(case(), CN, Facts(now=NOW)).department_id is None


def test_refusals_come_before_anything_is_read() -> None:
    both = CaseIn(channel="visit", cause="x", visitor=VisitorIn(name="a"), visitor_id=1)
    neither = CaseIn(channel="visit", cause="x")
    for data in (both, neither):
        with pytest.raises(InvalidInput) as exc:
            registration.check(data, CN)
        assert exc.value.code == "visitor_required"
    with pytest.raises(InvalidInput) as exc:
        registration.check(case(legal_category="accusation"), CN)
    assert exc.value.code == "accused_required"
    accused = AccusedIn(user_ids=[1])
    assert registration.check(case(legal_category="accusation", accused=accused), CN) is False
    assert registration.check(case(headcount=6, representatives=reps(1)), CN) is True
