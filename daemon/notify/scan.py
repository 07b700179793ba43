"""What is due: the tick's reads of open deadlines, pending incoming transfers and
extension requests, each turned into candidate reminders."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.db import sql
from core.db.engine import is_postgres
from core.domain import reminders
from core.domain.reminders import Stage
from core.settings import TIMEZONE
from daemon.notify.candidates import Candidate, _Run
from daemon.notify.writes import _flush

FLUSH_AT = 2000


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
        for stage in reminders.extension_stages(
            requested_on.date(), run.today, run.cal, run.policy
        ):
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
