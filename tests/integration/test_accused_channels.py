"""The accused, generated (security proof suite): every channel that names a case, read
by every account accused in a 检举控告, carries nothing about it.

A police tenant receives two complaints against the officer with badge 031234 of unit
``station-hx`` — one registered at the desk during a reception session the officer leads,
one submitted through Open311 — and handles the first to the end: reminders and 督办
through the tick, digests, a chase, the plugin's steps (result told, handover), the
written notice, closing and archiving; the complainant comes back and the accused
registers a similar matter for them. The accused accounts, each holding every staff role
and an e-mail address:

- the officer, username = badge, in another unit (accused by name);
- a member of the accused unit (accused by department);
- an account created AFTER the complaints whose title is the badge (accused by name);
- a colleague moved into the accused unit after the complaints, who had been sent
  reminders about them before the move (accused by department from then on, so those
  messages leave their inbox too; the user record is changed in the table, as no route
  edits a user yet).

A colleague with the same roles is the control: in every channel that can carry a case
they must find the complaints (so each check can fail), while no accused account finds a
receipt code, the facts, or a ``/cases/<id>`` link of any of the complaints. The channels:

pages ``/``, ``/cases/{id}``, ``/inbox``, ``/rota``; API case list (no filter, each status
filter, a cursor), case detail, deadlines, the events/flags/earlier matters of every case
the account can see, the complainant's file and archive, visitor search by the
complainant's ID number and phone, the visitor list, a reception session's cases; inbox
(API list, unread count, mark read), reminders and 督办, digests, e-mail (a local SMTP
server), repeat flags (the accused registers a similar matter for the same complainant;
the desk registering the same one is told it repeats the complaint), assignment (the
accused cannot be made the handler), every lifecycle action and the written notice, the
police plugin's steps, iCal (the public schedule and the account's own feed) and Open311
— whose public status by receipt code answers anyone (it is public), but which the
accused's authenticated views never link.

Exports are read as their words (Excel cells, PDF text): the case list (masked and in
clear), the month's 排查表, the annual report and the complainant's archive volume.
Channels that do not exist yet are added with issue 14: SMS (no provider ships; a plugin
channel goes through the same delivery rule, proven in
test_law_clocks::test_delivery_drops_any_message_about_a_case_hidden_from_its_recipient)
and statistics drill-downs.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import load_workbook

from core.db.engine import tenant_tx
from core.db.tables import StaffUser
from core.domain.lifecycle import ACTIONS, STATUS_ZH
from core.principal import ROLES
from core.services import open311
from core.settings import TIMEZONE
from daemon.notify.jobs import run_deliver, run_tick
from tests.conftest import valid_id_number
from tests.integration.test_documents import text_of as pdf_text
from tests.integration.test_isolation_walk import login
from tests.integration.test_lifecycle import START, act, clock  # noqa: F401 (fixture)
from tests.integration.test_outbox import Mailbox, smtp  # noqa: F401 (fixture)
from tests.integration.test_plugin_platform import case_body
from tests.integration.test_plugin_sectors import add_departments
from tests.integration.test_reminders import at, quiet
from tests.integration.test_repeats_and_accused import staff

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("clock")]  # time is START

BADGE = "031234"
STAFF_PASSWORD = "pw-123456789"  # test_repeats_and_accused.staff
COMPLAINANT = {"name": "孙八", "id_number": valid_id_number(seq=818), "phone": "13711113333"}
CAUSE = "民警出警时态度恶劣并推搡群众，要求调查处理"
ONLINE_CAUSE = "派出所民警办理户口时索要好处费，要求查处"


@dataclass
class Account:
    name: str
    user: dict[str, Any]
    headers: dict[str, str]
    email: str
    cookie: str = ""
    feed: str = ""
    since_mail: int = 0
    """E-mails before this index were sent before the account was accused."""
    registered: list[dict[str, Any]] = field(default_factory=list)
    """Matters this account registered for the complainant (the repeat channel)."""


@dataclass
class Seen:
    text: str
    carries_cases: bool = True
    """False: the channel never names a case (the control cannot find it either)."""
    works: bool = True
    """The channel answered what it should (e.g. the search found the person)."""


async def get_text(client: Any, url: str, **kw: Any) -> tuple[int, str]:
    r = await client.get(url, **kw)
    return r.status_code, r.text


async def test_an_accused_account_learns_nothing_about_the_complaint_through_any_channel(
    client: Any, make_tenant: Any, rt: Any, request: pytest.FixtureRequest, record_property: Any
) -> None:
    box: Mailbox = request.getfixturevalue("smtp")
    fixed = rt.clock
    t = await make_tenant(plugins=("police",))
    await quiet(t, {"screening": False})  # digests on
    deps = await add_departments(client, t, "inspection", "station-hx", "station-hd", "station-cy")
    roles = list(ROLES)

    async def account(name: str, username: str, department: str, **extra: Any) -> Account:
        email = f"{name}@example.org"
        dep = deps.get(department) or t.departments[department]
        user, headers = await staff(
            client, rt, t, username, roles, department_id=dep, email=email, **extra
        )
        return Account(name, user, headers, email, since_mail=len(box.messages))

    officer = await account("officer", BADGE, "station-hd")
    unit = await account("unit", "li", "station-hx")
    mover = await account("mover", "zhao", "petition")
    control = await account("control", "zhou", "petition")
    session = await client.post(
        "/api/v1/sessions",
        json={
            "day": START.date().isoformat(),
            "half": "am",
            "starts_at": "09:00",
            "ends_at": "11:30",
            "place": "一楼接待大厅",
            "leader_id": officer.user["id"],
        },
        headers=t.headers("admin"),
    )
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    r = await client.post(
        "/api/v1/rota/templates",
        json={
            "key": "week",
            "title_zh": "领导接访日",
            "weekdays": [0, 1, 2, 3, 4],
            "leaders": [a.user["id"] for a in (officer, unit, mover, control)],
        },
        headers=t.headers("admin"),
    )
    assert r.status_code == 201, r.text
    for step in ("generate", "publish"):
        r = await client.post(f"/api/v1/rota/{step}", json={}, headers=t.headers("admin"))
        assert r.status_code == 200, r.text

    # The two complaints.
    form = {"officer_badge": BADGE, "officer_unit": "station-hx"}
    r = await client.post(
        "/api/v1/cases",
        json=case_body(
            "officer_conduct", form, visitor=COMPLAINANT, cause=CAUSE, session_id=session_id
        ),
        headers=t.headers(),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    key = await open311.create_key(t.scope(rt))
    r = await client.post(
        f"/open311/{t.slug}/v2/requests.json",
        json={
            "api_key": key,
            "service_code": "officer_conduct",
            "description": ONLINE_CAUSE,
            "last_name": "孙",
            "first_name": "八",
            "phone": COMPLAINANT["phone"],
            "attribute": form,
        },
    )
    assert r.status_code == 201, r.text
    online_code = r.json()[0]["service_request_id"]
    online = next(
        c
        for c in (await client.get("/api/v1/cases", headers=t.headers())).json()["items"]
        if c["receipt_code"] == online_code
    )
    hidden = [case, online]

    def names_it(text: str) -> list[str]:
        """What of the complaints a text gives away: receipt codes, facts, links."""
        plain = [c["receipt_code"] for c in hidden] + [CAUSE, ONLINE_CAUSE]
        found = [s for s in plain if s in text]
        return found + [
            f"/cases/{c['id']}" for c in hidden if re.search(rf"/cases/{c['id']}(?!\d)", text)
        ]

    # Reminders before the move reach the colleague who is moved afterwards.
    for day in ("2026-10-08", "2026-10-09"):
        await run_tick(rt, tenants=[t.id], now=at(day, 9))
    early = (await client.get("/api/v1/inbox?limit=200", headers=mover.headers)).json()["items"]
    early_ids = [m["id"] for m in early if names_it(json.dumps(m, ensure_ascii=False))]
    assert early_ids, early
    mover.since_mail = len(box.messages)
    async with tenant_tx(t.id):
        await StaffUser.update({StaffUser.department_id: deps["station-hx"]}).where(
            (StaffUser.tenant_id == t.id) & (StaffUser.id == mover.user["id"])
        )
    late = await account("late", "wang", "petition", title=BADGE)
    accused = [officer, unit, late, mover]
    for day in ("2026-10-10", "2026-10-12"):
        await run_tick(rt, tenants=[t.id], now=at(day, 9))

    # The desk handles the first complaint to the end; the accused cannot be given it.
    fixed.set(at("2026-10-12", 15))
    today = fixed.now().astimezone(TIMEZONE).date().isoformat()
    cid = case["id"]
    await act(client, t, cid, "accept", "clerk")
    refusals: dict[str, int] = {}
    for a in accused:
        r = await client.post(
            f"/api/v1/cases/{cid}/actions/start_handling",
            json={"handler_id": a.user["id"]},
            headers=t.headers(),
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "recused", (a.name, r.text)
        refusals[a.name] = r.status_code
    await act(client, t, cid, "start_handling", "clerk", handler_id=control.user["id"])
    await act(client, t, cid, "chase", "supervisor", note="请尽快核查")
    await act(client, t, cid, "notify", "clerk", channel="in_person", given_on=today)
    for step, data in (
        ("result-told", {"method": "phone"}),
        ("handover", {"behaviour": "other", "receiving_officer": "督察王某"}),
    ):
        r = await client.post(
            f"/api/v1/plugins/police/cases/{cid}/{step}", json=data, headers=control.headers
        )
        assert r.status_code == 201, r.text

    # The accused register a similar matter for the same complainant.
    for a in accused:
        r = await client.post(
            "/api/v1/cases",
            json=case_body(
                "officer_conduct",
                {"officer_badge": "045678", "officer_unit": "station-cy"},
                visitor=COMPLAINANT,
                cause=CAUSE.replace("推搡", "推打"),
            ),
            headers=a.headers,
        )
        assert r.status_code == 201, (a.name, r.text)
        a.registered.append(r.json())
    # The desk registering the same complaint again is told it is a repeat of it.
    r = await client.post(
        "/api/v1/cases",
        json=case_body("officer_conduct", form, visitor=COMPLAINANT, cause=CAUSE),
        headers=control.headers,
    )
    assert r.status_code == 201, r.text
    control.registered.append(r.json())
    hidden.append(r.json())
    await act(client, t, cid, "close", "leader", opinion="explain", opinion_text="已核查处理")
    await act(client, t, cid, "archive", "clerk")
    await run_deliver(rt, tenants=[t.id], now=fixed.now())

    for a in (*accused, control):
        a.cookie = await login(client, t.slug, a.user["username"], STAFF_PASSWORD)
        r = await client.post("/api/v1/rota/feed-token", headers=a.headers)
        assert r.status_code == 201, r.text
        a.feed = r.json()["path"]

    # --- the channels ---------------------------------------------------------------
    visitor_id = case["visitor_id"]

    def page(a: Account) -> dict[str, str]:
        return {"Cookie": f"xf_session={a.cookie}", "accept": "text/html"}

    async def texts(a: Account, *urls: str, headers: dict[str, str] | None = None) -> str:
        out = []
        for url in urls:
            status, text = await get_text(client, url, headers=headers or a.headers)
            out.append(f"[{status}] {text}")  # not the URL: it names the case
        return "\n".join(out)

    async def files(a: Account, *urls: str) -> str:
        """Exports as their words: Excel cell values, PDF text (pdftotext)."""
        out = []
        for url in urls:
            r = await client.get(url, headers=a.headers)
            kind = r.headers.get("content-type", "")
            if r.status_code == 200 and kind.startswith("application/vnd.openxmlformats"):
                wb = load_workbook(io.BytesIO(r.content))
                body = "\n".join(
                    str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                    for v in row if v is not None
                )  # fmt: skip
            elif r.status_code == 200 and kind == "application/pdf":
                body = pdf_text(r.content)
            else:
                body = r.text
            out.append(f"[{r.status_code}] {body}")
        return "\n".join(out)

    async def inbox(a: Account, kind: str | None = None) -> list[dict[str, Any]]:
        r = await client.get("/api/v1/inbox?limit=200", headers=a.headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return [m for m in items if kind is None or m["kind"] == kind]

    async def unread(a: Account) -> Seen:
        """The unread count counts what the list shows, nothing more."""
        count = (await client.get("/api/v1/inbox/unread-count", headers=a.headers)).json()
        items = await client.get("/api/v1/inbox?unread=true&limit=200", headers=a.headers)
        works = count["unread"] == len(items.json()["items"]) == items.json()["unread"]
        return Seen(json.dumps(count), carries_cases=False, works=works)

    async def mark_read(a: Account) -> Seen:
        """Marking a message about the complaint read: the control may; the colleague
        moved into the accused unit finds the messages sent before the move gone."""
        if a is control:
            mine = [m["id"] for m in await inbox(a) if names_it(json.dumps(m, ensure_ascii=False))]
            ids, want = mine[:1], 200
        else:
            ids, want = (early_ids if a is mover else []), 404
        got = [await client.post(f"/api/v1/inbox/{i}/read", headers=a.headers) for i in ids]
        text = "\n".join(r.text for r in got)
        return Seen(
            text, works=all(r.status_code == want for r in got) and (ids or a is not control)
        )

    async def visible_cases(a: Account) -> str:
        items = (await client.get("/api/v1/cases?limit=200", headers=a.headers)).json()["items"]
        return await texts(a, *(f"/api/v1/cases/{c['id']}" for c in items))

    async def search(a: Account, by: str) -> Seen:
        r = await client.get(f"/api/v1/visitors?{by}={COMPLAINANT[by]}", headers=a.headers)
        found = r.status_code == 200 and [v["id"] for v in r.json()] == [visitor_id]
        return Seen(r.text, carries_cases=False, works=found)

    async def emails(a: Account) -> Seen:
        mine = [m for m in box.messages[a.since_mail :] if m["To"] == a.email]
        return Seen("\n".join(f"{m['Subject']}\n{m.get_content()}" for m in mine))

    async def repeats(a: Account) -> Seen:
        """What registering a similar matter for the complainant said: the control's
        names the complaint as repeated, the accused's never does."""
        mine = a.registered[0]
        repeat_of = mine["repeat_of_id"]
        works = repeat_of == cid if a is control else repeat_of not in {c["id"] for c in hidden}
        return Seen(json.dumps(mine, ensure_ascii=False), works=works)

    async def answers(a: Account, *urls: str, headers: dict[str, str] | None = None) -> Seen:
        """Each hidden case's own address: 200 for the control, 404 for the accused."""
        got = [await get_text(client, u, headers=headers or a.headers) for u in urls]
        want = {200} if a is control else {404}
        text = "\n".join(f"[{s}] {body}" for s, body in got)
        return Seen(text, works={s for s, _ in got} == want)

    async def actions(a: Account) -> Seen:
        """Every step, with a body it accepts; the control tries them on the archived
        case (refused for its state, never 404), the accused on both."""
        out = []
        for c in [case] if a is control else hidden:
            for name in ACTIONS:
                body = {"channel": "in_person", "given_on": today} if name == "notify" else {}
                r = await client.post(
                    f"/api/v1/cases/{c['id']}/actions/{name}", json=body, headers=a.headers
                )
                out.append((r.status_code, f"{name} [{r.status_code}] {r.text}"))
        text = "\n".join(line for _, line in out)
        if a is control:
            return Seen(text, carries_cases=False, works=404 not in {s for s, _ in out})
        return Seen(text, works={s for s, _ in out} == {404})

    async def plugin_steps(a: Account) -> Seen:
        out = []
        for c in hidden:
            r = await client.post(
                f"/api/v1/plugins/police/cases/{c['id']}/result-told",
                json={"method": "letter"},
                headers=a.headers,
            )
            out.append((r.status_code, r.text))
        statuses = {s for s, _ in out}
        want = {201} if a is control else {404}
        return Seen("\n".join(t for _, t in out), works=statuses == want)

    async def assignment(a: Account) -> Seen:
        return Seen("", carries_cases=False, works=a is control or refusals[a.name] == 422)

    async def feeds(a: Account) -> Seen:
        text = await texts(a, a.feed, f"/t/{t.slug}/schedule.ics", f"/t/{t.slug}/schedule.json")
        return Seen(text, carries_cases=False, works="[200] BEGIN:VCALENDAR" in text)

    async def open311_views(a: Account) -> Seen:
        public = await client.get(f"/open311/{t.slug}/v2/requests/{online_code}.json")
        assert public.status_code == 200 and public.json()[0]["service_request_id"] == online_code
        text = await texts(a, "/api/v1/cases?limit=200", "/api/v1/inbox?limit=200")
        text += await texts(a, "/", "/inbox", headers=page(a))
        return Seen(text)

    async def session_cases(a: Account) -> Seen:
        return Seen(await texts(a, f"/api/v1/sessions/{session_id}"))

    channels: dict[str, Callable[[Account], Awaitable[Seen | str]]] = {
        "page /": lambda a: texts(a, "/", headers=page(a)),
        "page /cases/{id}": lambda a: answers(
            a, *(f"/cases/{c['id']}" for c in hidden), headers=page(a)
        ),
        "page /inbox": lambda a: texts(a, "/inbox", headers=page(a)),
        "page /rota": lambda a: _no_cases(texts(a, "/rota", headers=page(a))),
        "API case list": lambda a: texts(a, "/api/v1/cases?limit=200"),
        "API case list by status": lambda a: texts(
            a, *(f"/api/v1/cases?status={s}&limit=200" for s in STATUS_ZH)
        ),
        "API case list after a cursor": lambda a: texts(
            a, f"/api/v1/cases?after={max(c['id'] for c in hidden) + 1}"
        ),
        "API case detail": lambda a: answers(a, *(f"/api/v1/cases/{c['id']}" for c in hidden)),
        "API deadlines": lambda a: _no_cases_but(
            answers(a, *(f"/api/v1/cases/{c['id']}/deadlines" for c in hidden))
        ),
        "events, flags and earlier matters of visible cases": visible_cases,
        "visitor file": lambda a: texts(a, f"/api/v1/visitors/{visitor_id}"),
        "visitor archive": lambda a: texts(a, f"/api/v1/visitors/{visitor_id}/archive"),
        "exports: case list, 排查表, annual report, archive volume": lambda a: files(
            a,
            "/api/v1/cases.xlsx",
            "/api/v1/cases.xlsx?clear=1",
            *(f"/api/v1/reports/screening.xlsx?month=2026-{m:02d}" for m in (9, 10, 11)),
            "/api/v1/reports/annual.xlsx?year=2026",
            "/api/v1/reports/annual.pdf?year=2026",
            f"/api/v1/visitors/{visitor_id}/archive/2026.pdf",
        ),
        "visitor search by ID number": lambda a: search(a, "id_number"),
        "visitor search by phone": lambda a: search(a, "phone"),
        "visitor list": lambda a: _no_cases(texts(a, "/api/v1/visitors?limit=200")),
        "reception session": session_cases,
        "inbox (API)": lambda a: _dump(inbox(a)),
        "inbox unread count": unread,
        "inbox mark read": mark_read,
        "reminders and 督办": lambda a: _dump(inbox(a, "reminder")),
        "digests": lambda a: _dump(inbox(a, "digest")),
        "e-mail": emails,
        "repeat flags": repeats,
        "assignment": assignment,
        "lifecycle actions": actions,
        "police plugin steps": plugin_steps,
        "iCal feeds": feeds,
        "Open311 (authenticated views)": open311_views,
    }

    failures: list[str] = []
    tried: Counter[str] = Counter()
    for name, read in channels.items():
        for a in (control, *accused):
            seen = await read(a)
            if isinstance(seen, str):
                seen = Seen(seen)
            tried[name] += 1
            found = names_it(seen.text)
            if not seen.works:
                failures.append(f"{name}: {a.name}: the channel did not answer as it should")
            if a is control:
                if seen.carries_cases and not found:
                    failures.append(f"{name}: the control finds nothing — the check proves nothing")
            elif found:
                failures.append(f"{name}: {a.name} learns {found}: {seen.text[:300]}")
    summary = (
        f"{len(channels)} channels × {len(accused)} accused accounts + control: "
        f"{sum(tried.values())} reads; {len(box.messages)} e-mails sent"
    )
    print(summary)
    record_property("accused_channels", len(channels))
    assert not failures, "\n".join(failures) + "\n" + summary
    assert len(channels) >= 25


async def _dump(items: Awaitable[list[dict[str, Any]]]) -> str:
    return json.dumps(await items, ensure_ascii=False)


async def _no_cases_but(seen: Awaitable[Seen]) -> Seen:
    """A clock list names no case: its 200/404 is the proof."""
    got = await seen
    got.carries_cases = False
    return got


async def _no_cases(text: Awaitable[str]) -> Seen:
    got = await text
    return Seen(got, carries_cases=False, works="[200]" in got)
