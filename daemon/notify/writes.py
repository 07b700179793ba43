"""What a tick writes: reminders (``INSERT … ON CONFLICT DO NOTHING``), outbox rows for
those it created, the monthly screening sheet, daily digests and the tick's state."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from core import links
from core.db import sql
from core.db.engine import is_postgres
from core.domain import reminders
from core.domain.reminders import Stage
from daemon.notify.candidates import Candidate, _Run


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
    # The tenant condition: on SQLite the statement's condition is the only tenant wall.
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
        0,
        "screening_sheet",
        stage,
        due,
        None,
        "",
        run.audiences.resolve(reminders.DESK, None, None),
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
