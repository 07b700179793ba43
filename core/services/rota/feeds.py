"""Feeds: the public schedule (JSON and iCal) and each leader's private iCal feed, whose
URL carries a token only its SHA-256 of which is stored. Public callers pass a system
scope for the tenant in the path; only published slots (and withdrawn ones, as
CANCELLED) are shown."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from urllib.parse import urlsplit

from core import links
from core.db.rota.tables import FeedToken, RotaChange, RotaSlot
from core.db.tables import StaffUser, Tenant
from core.domain.ical import CalendarEvent, EventStatus, render_calendar, uid_for
from core.errors import NotFound, PermissionDenied
from core.security import hash_token
from core.services import audit
from core.services.rota.answers import (
    FeedTokenInfo,
    FeedTokenOut,
    PublicLeader,
    PublicSchedule,
    PublicSlot,
    PublicTenant,
    RevokeResult,
    RotaSlotOut,
)
from core.services.rota.common import fetch_slots, select_slots
from core.services.scope import Scope
from core.settings import TIMEZONE

PUBLIC_PAST_DAYS = 31
_NOBODY = PublicLeader(name="待定", title="")


def feed_path(slug: str, token: str) -> str:
    return f"/t/{slug}/leaders/{token}.ics"


async def create_feed_token(scope: Scope) -> FeedTokenOut:
    """A new private iCal feed URL for the acting leader (shown once)."""
    me = scope.actor
    if not me.has_any("leader"):
        raise PermissionDenied("leader_only", "只有值班领导可以订阅本人的接访日历。")
    token = secrets.token_urlsafe(24)
    now = scope.rt.clock.now()
    async with scope.tx():
        rows = await FeedToken.insert(
            FeedToken(
                tenant_id=scope.tenant_id,
                user_id=me.user_id,
                token_hash=hash_token(token),
                prefix=token[:8],
                created_at=now,
            )
        ).returning(FeedToken.id)
        await audit.append(
            scope.rt, scope.tenant_id, "token.created", target=f"feed_token:{rows[0]['id']}"
        )
    path = feed_path(scope.tenant_slug, token)
    url = links.absolute(scope.rt.settings.base_url, path)
    return FeedTokenOut(id=rows[0]["id"], url=url, path=path)


async def feed_tokens(scope: Scope) -> list[FeedTokenInfo]:
    """The acting person's active feed links (prefix and date only: the URL is shown
    once, when it is made)."""
    me = scope.actor
    async with scope.tx(write=False):
        rows = (
            await scope.select(FeedToken, FeedToken.id, FeedToken.prefix, FeedToken.created_at)
            .where((FeedToken.user_id == me.user_id) & FeedToken.revoked_at.is_null())
            .order_by(FeedToken.id)
        )
    return [FeedTokenInfo(**r) for r in rows]


async def revoke_feed_tokens(scope: Scope) -> RevokeResult:
    """Revoke every feed token of the acting person."""
    me = scope.actor
    now = scope.rt.clock.now()
    async with scope.tx():
        rows = (
            await scope.update(FeedToken, {FeedToken.revoked_at: now})
            .where((FeedToken.user_id == me.user_id) & FeedToken.revoked_at.is_null())
            .returning(FeedToken.id)
        )
        for row in rows:
            await audit.append(
                scope.rt, scope.tenant_id, "token.revoked", target=f"feed_token:{row['id']}"
            )
    return RevokeResult(revoked=len(rows))


def _uid_domain(scope: Scope) -> str:
    host = (urlsplit(scope.rt.settings.base_url).hostname or "").lower() or "xinfang.invalid"
    return f"t{scope.tenant_id}.{host}"


async def _tenant_name(scope: Scope) -> str:
    row = await Tenant.select(Tenant.name).where(Tenant.id == scope.tenant_id).first()
    if row is None:
        raise NotFound("tenant_not_found", "机构不存在或已停用。", field="tenant")
    return str(row["name"])


async def _leaders(scope: Scope, slots: list[RotaSlotOut]) -> dict[int, PublicLeader]:
    ids = {s.leader_id for s in slots if s.leader_id}
    if not ids:
        return {}
    rows = await scope.select(
        StaffUser, StaffUser.id, StaffUser.display_name, StaffUser.title
    ).where(StaffUser.id.is_in(sorted(ids)))
    return {r["id"]: PublicLeader(name=r["display_name"], title=r["title"]) for r in rows}


async def _public_slots(scope: Scope, since: date) -> list[RotaSlotOut]:
    return await fetch_slots(
        select_slots(scope)
        .where(RotaSlot.published_at.is_not_null() & (RotaSlot.day >= since))
        .order_by(RotaSlot.day)
        .order_by(RotaSlot.starts_at)
    )


async def public_schedule(scope: Scope) -> PublicSchedule:
    """The published schedule of a tenant (public page data): who, when, where, topics."""
    today = scope.rt.clock.today()
    async with scope.tx(write=False):
        name = await _tenant_name(scope)
        rows = [r for r in await _public_slots(scope, today) if r.status == "published"]
        leaders = await _leaders(scope, rows)
    return PublicSchedule(
        tenant=PublicTenant(slug=scope.tenant_slug, name=name),
        timezone=str(TIMEZONE),
        slots=[
            PublicSlot(
                day=r.day,
                half=r.half,
                start=r.starts_at.strftime("%H:%M"),
                end=r.ends_at.strftime("%H:%M"),
                title=r.title,
                role=r.role,
                place=r.place,
                topics=r.topics,
                leader=leaders.get(r.leader_id or 0, _NOBODY),
                provisional=r.provisional,
                note=r.note,
            )
            for r in rows
        ],
    )


def _event(
    r: RotaSlotOut, domain: str, summary: str, status: EventStatus | None = None
) -> CalendarEvent:
    desc = []
    if r.topics:
        desc.append(f"接访主题：{'、'.join(r.topics)}")
    if r.note:
        desc.append(r.note)
    return CalendarEvent(
        uid=uid_for(r.uid_key, domain),
        day=r.day,
        start=r.starts_at,
        end=r.ends_at,
        summary=summary,
        location=r.place,
        description="\n".join(desc),
        sequence=r.sequence,
        status=status or ("CANCELLED" if r.status == "cancelled" else "CONFIRMED"),
        last_modified=r.updated_at,
        provisional=r.provisional,
    )


async def public_ics(scope: Scope) -> bytes:
    """The tenant's public iCal feed: published slots, and withdrawn ones as CANCELLED."""
    since = scope.rt.clock.today() - timedelta(days=PUBLIC_PAST_DAYS)
    domain = _uid_domain(scope)
    async with scope.tx(write=False):
        name = await _tenant_name(scope)
        rows = await _public_slots(scope, since)
        leaders = await _leaders(scope, rows)
    events = [
        _event(r, domain, f"{r.title}：{leaders.get(r.leader_id or 0, _NOBODY).name}") for r in rows
    ]
    return render_calendar(events, name=f"{name} 接访排班", now=scope.rt.clock.now())


async def leader_ics(scope: Scope, token: str) -> bytes:
    """A leader's private feed: their published slots; slots handed to someone else (swap,
    override) stay as CANCELLED so the leader's calendar drops them."""
    since = scope.rt.clock.today() - timedelta(days=PUBLIC_PAST_DAYS)
    domain = _uid_domain(scope)
    async with scope.tx(write=False):
        found = (
            await scope.select(FeedToken, FeedToken.user_id)
            .where((FeedToken.token_hash == hash_token(token)) & FeedToken.revoked_at.is_null())
            .first()
        )
        # A deactivated leader's feed stops answering too (and resumes on reactivation).
        if found is None or not await scope.exists(StaffUser).where(
            (StaffUser.id == found["user_id"]) & StaffUser.active.eq(True)
        ):
            raise NotFound("feed_not_found", "日历订阅地址无效或已撤销。")
        user = found["user_id"]
        name = await _tenant_name(scope)
        rows = await _public_slots(scope, since)
        former = {
            r["slot_id"]
            for r in await scope.select(RotaChange, RotaChange.slot_id).where(
                (RotaChange.from_leader_id == user)
                & RotaChange.status.is_in(["approved", "applied"])
            )
        }
    events = []
    for r in rows:
        if r.leader_id == user:
            events.append(_event(r, domain, r.title))
        elif r.id in former:
            events.append(_event(r, domain, r.title, status="CANCELLED"))
    return render_calendar(events, name=f"{name} 我的接访", now=scope.rt.clock.now())
