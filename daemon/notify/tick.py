"""The deadline tick: re-derive from the tables what is due, write reminders + outbox rows.

Per tenant, in one ``tenant_tx`` (row-level security allows no other way):

1. PostgreSQL: ``pg_try_advisory_xact_lock`` on the tenant — a second worker skips it.
2. A *full* pass on the first tick of a Shanghai day (and the first one after the digest
   hour): every open clock whose due date is within the horizon. Otherwise an
   *incremental* pass: only rows changed since the last tick (minus a slack for
   transactions that committed late). Stages depend only on the date, so nothing can
   become due between full passes except through a changed row.
3. ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``reminder`` (unique per tenant,
   case, kind, due date); only the rows this tick created get outbox rows, in the same
   transaction, keyed ``reminder:<id>:<recipient>``. A crash anywhere rolls all of it
   back; the next tick derives the same set again. Nothing is lost or doubled.

Only ``open`` clocks are reminded (a ``paused`` one waits for its recount), never the
windows the rule pack marks as the petitioner's own, and never to a recipient the case
is hidden from (:mod:`daemon.notify.privacy`).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core import links
from core.db import sql
from core.db.engine import is_postgres
from core.domain import reminders
from core.domain.reminders import Policy, Stage
from core.domain.rulepacks import RulePack
from core.domain.workcalendar import WorkCalendar
from core.principal import Principal
from core.services.scope import Scope
from core.settings import TIMEZONE
from daemon.notify.privacy import CaseSecrecy, principal_of

log = logging.getLogger(__name__)

LOCK_CLASS = 0x5846  # "XF": advisory-lock namespace of the tick
SLACK = timedelta(minutes=10)
FLUSH_AT = 2000
DIGEST_ITEMS = 20


@dataclass(frozen=True)
class Staff:
    id: int
    roles: frozenset[str]
    department_id: int | None
    who: Principal


class Audiences:
    """Who receives what, from the tenant's active staff (loaded once per tick)."""

    def __init__(self, staff: Iterable[Staff]) -> None:
        self.staff = {s.id: s for s in staff}
        self._cache: dict[tuple[str, int | None, int | None], tuple[int, ...]] = {}

    def _with(self, *roles: str, department: int | None = None) -> list[int]:
        return sorted(
            s.id
            for s in self.staff.values()
            if s.roles.intersection(roles) and (department is None or s.department_id == department)
        )

    def _department(self, dept: int | None) -> list[int]:
        if dept is not None:
            found = self._with("handler", department=dept) or self._with(
                "handler", "clerk", "leader", "supervisor", "admin", department=dept
            )
            if found:
                return found
        return self._with("clerk")

    def principals(self, ids: Iterable[int]) -> list[Principal]:
        return [self.staff[i].who for i in ids if i in self.staff]

    def resolve(self, audience: str, user: int | None, dept: int | None) -> tuple[int, ...]:
        key = (audience, user, dept)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if audience == reminders.HANDLER:
            ids = [user] if user in self.staff else self._department(dept)
        elif audience == reminders.DEPARTMENT:
            ids = self._department(dept)
        elif audience in (reminders.OVERSIGHT, reminders.LEADERS):
            ids = self._with("supervisor", "leader")
        else:  # DESK
            ids = self._with("clerk", "supervisor")
        out = tuple(dict.fromkeys(ids))
        self._cache[key] = out
        return out


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


async def load_staff(scope: Scope) -> list[Staff]:
    rows = await sql.fetch(
        "SELECT u.id, u.tenant_id, u.username, u.title, u.display_name, u.roles,"
        " u.department_id, t.slug"
        " FROM staff_user u JOIN tenant t ON t.id = u.tenant_id"
        " WHERE u.tenant_id = $1 AND u.active",
        scope.tenant_id,
    )
    out = []
    for r in rows:
        who = principal_of(scope.rt.keys, r["slug"], r)
        out.append(Staff(r["id"], who.roles, r["department_id"], who))
    return out


async def tick_tenant(
    scope: Scope,
    tenant_settings: dict[str, Any] | None,
    cal: WorkCalendar,
    now: datetime,
    *,
    pack: RulePack,
    force_full: bool = False,
) -> TickResult:
    """One tick for the scope's tenant (a system scope: the daemon), in one transaction.
    ``pack``: the tenant's rule pack with its plugins' clocks (names of the clocks; the
    windows that are the petitioner's own)."""
    tenant_id = scope.tenant_id
    now = now.astimezone(TIMEZONE)
    today = now.date()
    try:
        policy = Policy.from_settings(tenant_settings)
    except (TypeError, ValueError):
        log.warning("tenant %s: invalid reminder settings, using defaults", tenant_id)
        policy = Policy()
    async with scope.tx():
        if is_postgres():
            got = await sql.fetch(
                "SELECT pg_try_advisory_xact_lock($1, $2) AS ok", LOCK_CLASS, tenant_id
            )
            if not got[0]["ok"]:
                return TickResult(tenant_id)
        state = await sql.fetch(
            "SELECT full_day, digest_day, last_tick_at FROM notify_tick_state WHERE tenant_id = $1",
            tenant_id,
        )
        st = state[0] if state else None
        digest_due = (
            policy.digest
            and now.hour >= policy.digest_hour
            and cal.is_workday(today)
            and (st is None or st["digest_day"] != today)
        )
        full = (
            force_full
            or st is None
            or st["full_day"] != today
            or st["last_tick_at"] is None
            or digest_due
        )
        since = None if full else st["last_tick_at"] - SLACK  # type: ignore[index]
        run = _Run(
            tenant_id,
            now,
            today,
            cal,
            policy,
            Audiences(await load_staff(scope)),
            pack,
            pack.petitioner_windows,
        )
        run.result = TickResult(tenant_id, mode="full" if full else "incremental")
        run.collect_digest = bool(digest_due)
        await _deadlines(run, since)
        await _transfers(run, since)
        await _extensions(run, since)
        await _flush(run)
        await _screening(run)
        if digest_due:
            await _digests(run)
        await _save_state(run, st is not None, full, bool(digest_due))
    return run.result


async def _deadlines(run: _Run, since: datetime | None) -> None:
    query = (
        "SELECT d.id, d.case_id, d.clock, d.due, d.responsible_user_id AS uid,"
        " d.responsible_department_id AS dept, c.receipt_code"
        " FROM case_deadline d JOIN petition_case c"
        " ON c.id = d.case_id AND c.tenant_id = d.tenant_id"
        " WHERE d.tenant_id = $1 AND d.state = 'open' AND d.due <= $2"
    )
    args: list[Any] = [run.tenant_id, reminders.horizon(run.today, run.cal, run.policy)]
    if since is not None:
        query += " AND d.updated_at >= $3"
        args.append(since)
    async for rows in sql.stream(query, *args):
        for r in rows:
            run.result.scanned += 1
            if r["clock"] in run.petitioner_windows:
                continue  # nobody on the staff has to act before it runs out
            due = r["due"]
            stages = reminders.deadline_stages(r["clock"], due, run.today, run.cal, run.policy)
            for stage in stages:
                c = Candidate(
                    r["case_id"],
                    r["clock"],
                    stage,
                    due,
                    r["id"],
                    r["receipt_code"],
                    run.audiences.resolve(stage.audience, r["uid"], r["dept"]),
                )
                run.add(c)
            if run.collect_digest and stages:
                for s in _latest_per_audience(stages):
                    run.digest_pending.append(
                        Candidate(
                            r["case_id"],
                            reminders.clock_name(run.pack, r["clock"]),
                            s,
                            due,
                            r["id"],
                            r["receipt_code"],
                            run.audiences.resolve(s.audience, r["uid"], r["dept"]),
                        )
                    )
        if len(run.pending) + len(run.digest_pending) >= FLUSH_AT:
            await _flush(run)


def _latest_per_audience(stages: list[Stage]) -> list[Stage]:
    keep = reminders.to_notify(stages)
    return [s for s in stages if s.kind in keep]


async def _transfers(run: _Run, since: datetime | None) -> None:
    latest = run.cal.add_workdays(run.today, run.policy.transfer_warn_days)
    query = (
        "SELECT t.id, t.case_id, t.objection_due, t.to_department_id AS dept, c.receipt_code"
        " FROM case_transfer t JOIN petition_case c"
        " ON c.id = t.case_id AND c.tenant_id = t.tenant_id"
        " WHERE t.tenant_id = $1 AND t.status = 'pending' AND t.direction = 'in'"
        " AND t.objection_due IS NOT NULL AND t.objection_due <= $2"
    )
    args: list[Any] = [run.tenant_id, latest]
    if since is not None:
        query += " AND t.created_at >= $3"
        args.append(since)
    for r in await sql.fetch(query, *args):
        for stage in reminders.transfer_stages(
            r["id"], r["objection_due"], run.today, run.cal, run.policy
        ):
            run.add(
                Candidate(
                    r["case_id"],
                    f"transfer#{r['id']}",
                    stage,
                    r["objection_due"],
                    r["id"],
                    r["receipt_code"],
                    run.audiences.resolve(stage.audience, None, r["dept"]),
                )
            )


async def _extensions(run: _Run, since: datetime | None) -> None:
    flag = (
        "c.flags ? 'extension_request'" if is_postgres() else "c.flags LIKE '%extension_request%'"
    )
    query = (
        "SELECT c.id, c.receipt_code, c.flags FROM petition_case c"
        f" WHERE c.tenant_id = $1 AND c.closed_at IS NULL AND {flag}"
    )
    args: list[Any] = [run.tenant_id]
    if since is not None:
        query += " AND c.updated_at >= $2"
        args.append(since)
    for r in await sql.fetch(query, *args):
        flags = r["flags"]
        if isinstance(flags, str):
            flags = json.loads(flags)
        req = (flags or {}).get("extension_request")
        if not isinstance(req, dict) or not req.get("requested_at"):
            continue
        try:
            at = datetime.fromisoformat(str(req["requested_at"]))
        except ValueError:
            continue
        requested_on = (at if at.tzinfo else at.replace(tzinfo=TIMEZONE)).astimezone(TIMEZONE)
        for stage in reminders.extension_stages(requested_on.date(), run.today, run.cal, run.policy):
            run.add(
                Candidate(
                    r["id"],
                    "extension_request",
                    stage,
                    requested_on.date(),
                    None,
                    r["receipt_code"],
                    run.audiences.resolve(stage.audience, None, None),
                )
            )


async def _screen(run: _Run, batch: list[Candidate]) -> None:
    """Drop every recipient the case is hidden from (检举控告: the accused, their unit).
    When that leaves nobody, the desk (clerks, supervisors) who may see it is told."""
    await run.secrecy.load(run.audiences.principals({u for c in batch for u in c.recipients}))
    if not run.secrecy.anything_hidden:
        return
    desk = run.audiences.resolve(reminders.DESK, None, None)
    await run.secrecy.load(run.audiences.principals(desk))
    for c in batch:
        if not c.case_id:
            continue
        kept = tuple(u for u in c.recipients if not run.secrecy.hides(u, (c.case_id,)))
        if not kept and c.recipients:
            kept = tuple(u for u in desk if not run.secrecy.hides(u, (c.case_id,)))
        c.recipients = kept


async def _flush(run: _Run) -> None:
    """Insert the pending reminders; notify only those this transaction created."""
    if not run.pending and not run.digest_pending:
        return
    batch, run.pending = run.pending, []
    digest, run.digest_pending = run.digest_pending, []
    await _screen(run, batch + digest)
    for c in digest:
        run.note_for_digest(c)
    if not batch:
        return
    created = await _insert_reminders(run, batch)
    if not created:
        return
    # Among stages of one subject reached together, send only the latest per audience.
    groups: dict[tuple[int, str, str], list[tuple[int, Candidate]]] = defaultdict(list)
    for rid, c in created.items():
        groups[(c.case_id, c.subject, c.stage.audience)].append((rid, c))
    silent: list[int] = []
    outbox: list[tuple[int, Candidate]] = []
    for members in groups.values():
        best = max(members, key=lambda m: m[1].stage.level)
        silent += [rid for rid, _ in members if rid != best[0]]
        outbox.append(best)
    if silent:
        await _mark_silent(run, silent)
    await _insert_outbox(run, outbox)


async def _insert_reminders(run: _Run, batch: list[Candidate]) -> dict[int, Candidate]:
    keyed = {(c.case_id, c.stage.kind, c.due): c for c in batch}
    cols = "(tenant_id, case_id, kind, due_on, level, subject_id, recipients, notified, created_at)"
    out: dict[int, Candidate] = {}
    if is_postgres():
        rows = await sql.fetch(
            f"INSERT INTO reminder {cols}"
            " SELECT $1, u.case_id, u.kind, u.due_on, u.level, u.subject_id, u.n, true, $2"
            " FROM unnest($3::int[], $4::text[], $5::date[], $6::int[], $7::int[], $8::int[])"
            " AS u(case_id, kind, due_on, level, subject_id, n)"
            " ON CONFLICT (tenant_id, case_id, kind, due_on) DO NOTHING"
            " RETURNING id, case_id, kind, due_on",
            run.tenant_id,
            run.now,
            [k[0] for k in keyed],
            [k[1] for k in keyed],
            [k[2] for k in keyed],
            [c.stage.level for c in keyed.values()],
            [c.subject_id for c in keyed.values()],
            [len(c.recipients) for c in keyed.values()],
        )
    else:
        rows = []
        for (case_id, kind, due), c in keyed.items():
            rows += await sql.fetch(
                f"INSERT INTO reminder {cols} VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)"
                " ON CONFLICT (tenant_id, case_id, kind, due_on) DO NOTHING"
                " RETURNING id, case_id, kind, due_on",
                run.tenant_id,
                case_id,
                kind,
                due,
                c.stage.level,
                c.subject_id,
                len(c.recipients),
                run.now,
            )
    for r in rows:
        due = r["due_on"]
        if isinstance(due, str):
            due = date.fromisoformat(due)
        out[r["id"]] = keyed[(r["case_id"], r["kind"], due)]
    run.result.reminders += len(out)
    return out


async def _mark_silent(run: _Run, ids: list[int]) -> None:
    if is_postgres():
        await sql.execute(
            "UPDATE reminder SET notified = false WHERE tenant_id = $1 AND id = ANY($2::int[])",
            run.tenant_id,
            ids,
        )
    else:
        await sql.executemany(
            "UPDATE reminder SET notified = 0 WHERE tenant_id = $1 AND id = $2",
            [(run.tenant_id, i) for i in ids],
        )


async def _insert_outbox(run: _Run, items: list[tuple[int, Candidate]]) -> None:
    rows: list[tuple[str, int, str]] = []
    for rid, c in items:
        title, body = reminders.message_for(
            c.stage.kind,
            c.receipt_code,
            c.due,
            run.cal,
            late=c.stage.trigger < run.today,
            pack=run.pack,
        )
        link = links.case_url(c.case_id) if c.case_id else None
        payload = json.dumps(
            {"title": title, "body": body, "link": link, "case_id": c.case_id or None},
            ensure_ascii=False,
        )
        for uid in c.recipients:
            rows.append((f"reminder:{rid}:{uid}", uid, payload))
    await write_outbox(run.tenant_id, "reminder", rows, run.now)
    run.result.notifications += len(rows)


async def write_outbox(
    tenant_id: int, kind: str, rows: list[tuple[str, int, str]], now: datetime
) -> None:
    """Bulk form of ``core.services.events.enqueue``: (dedupe_key, recipient, payload JSON)."""
    if not rows:
        return
    cols = "(tenant_id, kind, dedupe_key, recipient_id, channel, payload, created_at, available_at, attempts, last_error)"
    if is_postgres():
        await sql.execute(
            f"INSERT INTO outbox {cols}"
            " SELECT $1, $2, u.k, u.r, 'inbox', u.p::jsonb, $3, $3, 0, ''"
            " FROM unnest($4::text[], $5::int[], $6::text[]) AS u(k, r, p)"
            " ON CONFLICT (tenant_id, dedupe_key) DO NOTHING",
            tenant_id,
            kind,
            now,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
        )
    else:
        await sql.executemany(
            f"INSERT INTO outbox {cols} VALUES ($1, $2, $3, $4, 'inbox', $5, $6, $6, 0, '')"
            " ON CONFLICT (tenant_id, dedupe_key) DO NOTHING",
            [(tenant_id, kind, k, r, p, now) for k, r, p in rows],
        )


async def _screening(run: _Run) -> None:
    due = reminders.screening_due(run.today, run.cal, run.policy)
    if due is None:
        return
    stage = Stage("screening_sheet:reminder", 2, reminders.DESK, run.today)
    c = Candidate(
        0, "screening_sheet", stage, due, None, "", run.audiences.resolve(reminders.DESK, None, None)
    )
    created = await _insert_reminders(run, [c])
    if not created:
        return
    rid = next(iter(created))
    title = f"矛盾纠纷排查表：请于 {due.month} 月 {due.day} 日前报送"
    body = (
        f"本月矛盾纠纷排查表应于 {run.cal.describe(due)} 前报送，请汇总各部门排查情况并按时上报。"
    )
    payload = json.dumps({"title": title, "body": body, "link": None}, ensure_ascii=False)
    rows = [(f"reminder:{rid}:{uid}", uid, payload) for uid in c.recipients]
    await write_outbox(run.tenant_id, "reminder", rows, run.now)
    run.result.notifications += len(rows)


async def _digests(run: _Run) -> None:
    """One digest per staff member with something open, once per working day."""
    for uid in sorted(run.digest_counts):
        if uid not in run.audiences.staff:
            continue
        counts = run.digest_counts[uid]
        stage = Stage(f"digest:{uid}", 1, "user", run.today)
        c = Candidate(0, "digest", stage, run.today, uid, "", (uid,))
        created = await _insert_reminders(run, [c])
        if not created:
            continue
        rid = next(iter(created))
        summary = "，".join(f"{k} {v} 件" for k, v in sorted(counts.items()))
        items = sorted(run.digest[uid], key=lambda x: -x[0])
        lines = [text for _, text, _ in items]
        total = sum(counts.values())
        more = f"\n……另有 {total - len(lines)} 件" if total > len(lines) else ""
        payload = json.dumps(
            {
                "title": f"每日待办汇总（{run.today.isoformat()}）：{summary}",
                "body": "\n".join(lines) + more,
                "link": links.INBOX,
                "case_ids": sorted({case_id for _, _, case_id in items}),
            },
            ensure_ascii=False,
        )
        await write_outbox(
            run.tenant_id, "digest", [(f"reminder:{rid}:{uid}", uid, payload)], run.now
        )
        run.result.digests += 1


async def _save_state(run: _Run, exists: bool, full: bool, digested: bool) -> None:
    if not exists:
        await sql.execute(
            "INSERT INTO notify_tick_state (tenant_id, full_day, digest_day, last_tick_at)"
            " VALUES ($1, $2, $3, $4)",
            run.tenant_id,
            run.today,
            run.today if digested else None,
            run.now,
        )
        return
    sets = ["last_tick_at = $2"]
    args: list[Any] = [run.tenant_id, run.now]
    if full:
        sets.append(f"full_day = ${len(args) + 1}")
        args.append(run.today)
    if digested:
        sets.append(f"digest_day = ${len(args) + 1}")
        args.append(run.today)
    await sql.execute(f"UPDATE notify_tick_state SET {', '.join(sets)} WHERE tenant_id = $1", *args)
