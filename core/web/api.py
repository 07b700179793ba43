"""JSON API under /api/v1 for a tenant's staff. Handlers only translate HTTP ↔ services:
each declares ``sc: CallerScope`` (the caller's scope, from their credentials) and passes it on."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Router, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, SkipValidation
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import UnsetType

from core.domain.deadlines import parse_pause
from core.principal import Principal
from core.schemas import (
    MAX_ID,
    ActionIn,
    CaseIn,
    DepartmentIn,
    Id,
    NoticeIn,
    PasswordIn,
    SessionIn,
    TokenIn,
    UserIn,
    UserUpdateIn,
    VisitorIn,
)
from core.services import (
    cases,
    deadlines,
    departments,
    lifecycle,
    sessions,
    tenants,
    users,
    visitors,
)
from core.services.answers import (
    CalendarYear,
    DepartmentOut,
    MeOut,
    NewToken,
    PasswordChanged,
    RegisteredVisitor,
    SessionDetail,
    SessionOut,
    TenantBrief,
    TokenListItem,
    TokenOut,
    UnlockedUser,
    UserOut,
    VisitorDetail,
    VisitorOut,
)
from core.services.calendar import calendar_year
from core.services.cases import CaseDetail, CasePage
from core.services.deadlines import ClockOut, Explained
from core.services.lifecycle import ArchiveVolumeOut
from core.services.tenant_settings import (
    TenantSettings,
    TenantSettingsIn,
    get_settings,
    update_settings,
)
from core.web.auth import (
    CallerScope,
    requires_admin,
    requires_registrar,
    requires_scheduler,
    requires_staff,
)

Req = Request[Principal, Any, Any]
Limit = Annotated[int, Parameter(ge=1, le=200, description="每页条数")]
Filter = Annotated[str | None, Parameter(max_length=40, description="筛选条件（见说明）")]
After = Annotated[
    Id | None, Parameter(ge=1, le=MAX_ID, description="上一页最后一条的 id（键集分页）")
]


class MeController(Controller):
    path = "/me"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def me(self, sc: CallerScope) -> MeOut:
        tenant = await tenants.get_tenant(sc)
        return MeOut(
            user=await users.get_user(sc, sc.actor.user_id),
            tenant=TenantBrief(
                slug=tenant.slug,
                name=tenant.name,
                rule_pack=tenant.rule_pack,
                plugins=sorted(tenant.plugins),
            ),
        )

    @post("/tokens", status_code=HTTP_201_CREATED)
    async def create_token(self, sc: CallerScope, data: JSONBody[TokenIn]) -> NewToken:
        return await users.create_token(
            sc, sc.actor.user_id, name=data.name, ttl_days=data.ttl_days
        )

    @get("/tokens")
    async def list_tokens(self, sc: CallerScope) -> list[TokenListItem]:
        return await users.list_tokens(sc, sc.actor.user_id)

    @delete("/tokens/{token_id:int}", status_code=HTTP_200_OK)
    async def revoke_token(self, sc: CallerScope, token_id: Id) -> TokenOut:
        return await users.revoke_token(sc, token_id, user_id=sc.actor.user_id)

    @post("/password", status_code=HTTP_200_OK)
    async def change_password(
        self, request: Req, sc: CallerScope, data: JSONBody[PasswordIn]
    ) -> PasswordChanged:
        """Change one's own password; every other session of the user ends."""
        ended = await users.change_password(
            sc,
            data.current_password,
            data.new_password,
            # Only a session that authenticated this call is "this" one, never a cookie
            # riding along with a bearer token.
            keep_session=(request.get_session_id() or None) if request.auth == "session" else None,
        )
        return PasswordChanged(changed=True, sessions_revoked=ended)


class TenantSettingsController(Controller):
    """The tenant's own settings (name, rule pack, token lifetime, repeat visits,
    reminders), for admins."""

    path = "/tenant/settings"
    guards = [requires_admin]  # noqa: RUF012

    @get("/")
    async def show(self, sc: CallerScope) -> TenantSettings:
        return await get_settings(sc)

    @put("/")
    async def replace(self, sc: CallerScope, data: JSONBody[TenantSettingsIn]) -> TenantSettings:
        """Replace them all; an optional number left out falls back to its default."""
        return await update_settings(sc, data)


class TokenController(Controller):
    """Every API token of the tenant, for admins."""

    path = "/tokens"
    guards = [requires_admin]  # noqa: RUF012

    @get("/")
    async def list_tokens(self, sc: CallerScope) -> list[TokenListItem]:
        return await users.list_tokens(sc)

    @delete("/{token_id:int}", status_code=HTTP_200_OK)
    async def revoke_token(self, sc: CallerScope, token_id: Id) -> TokenOut:
        return await users.revoke_token(sc, token_id)


class DepartmentController(Controller):
    path = "/departments"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_departments(self, sc: CallerScope) -> list[DepartmentOut]:
        return await departments.list_departments(sc)

    @post("/", guards=[requires_admin], status_code=HTTP_201_CREATED)
    async def create_department(
        self, sc: CallerScope, data: JSONBody[DepartmentIn]
    ) -> DepartmentOut:
        return await departments.create_department(sc, data)

    @get("/{department_id:int}")
    async def get_department(self, sc: CallerScope, department_id: Id) -> DepartmentOut:
        return await departments.get_department(sc, department_id)


class UserController(Controller):
    path = "/users"
    guards = [requires_admin]  # noqa: RUF012

    @get("/")
    async def list_users(self, sc: CallerScope) -> list[UserOut]:
        return await users.list_users(sc)

    @post("/", status_code=HTTP_201_CREATED)
    async def create_user(self, sc: CallerScope, data: JSONBody[UserIn]) -> UserOut:
        return await users.create_user(
            sc,
            username=data.username,
            display_name=data.display_name,
            password=data.password,
            roles=data.roles,
            department_id=data.department_id,
            title=data.title,
            email=data.email,
        )

    @get("/{user_id:int}")
    async def get_user(self, sc: CallerScope, user_id: Id) -> UserOut:
        return await users.get_user(sc, user_id)

    @patch("/{user_id:int}")
    async def update_user(
        self, sc: CallerScope, user_id: Id, data: JSONBody[UserUpdateIn]
    ) -> UserOut:
        """Change roles and/or department (at the account's next request)."""
        return await users.update_user(
            sc,
            user_id,
            roles=None if isinstance(data.roles, UnsetType) else data.roles,
            department_id=users.KEEP
            if isinstance(data.department_id, UnsetType)
            else data.department_id,
        )

    @post("/{user_id:int}/unlock", status_code=HTTP_200_OK)
    async def unlock_login(self, sc: CallerScope, user_id: Id) -> UnlockedUser:
        """Lift the lock after too many failed logins (and clear the failure count)."""
        return await users.unlock_login(sc, user_id)

    @post("/{user_id:int}/deactivate", status_code=HTTP_200_OK)
    async def deactivate(self, sc: CallerScope, user_id: Id) -> UserOut:
        """停用: sessions end, tokens and the iCal feed stop answering at once."""
        return await users.set_active(sc, user_id, False)

    @post("/{user_id:int}/activate", status_code=HTTP_200_OK)
    async def activate(self, sc: CallerScope, user_id: Id) -> UserOut:
        return await users.set_active(sc, user_id, True)


class VisitorController(Controller):
    path = "/visitors"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_visitors(
        self,
        sc: CallerScope,
        limit: Limit = 50,
        after: After = None,
        id_number: Annotated[str | None, Parameter(max_length=40)] = None,
        phone: Annotated[str | None, Parameter(max_length=40)] = None,
    ) -> list[VisitorOut]:
        return await visitors.list_visitors(
            sc, after=after, limit=limit, id_number=id_number, phone=phone
        )

    @post("/", guards=[requires_registrar], status_code=HTTP_201_CREATED)
    async def register_visitor(
        self, sc: CallerScope, data: JSONBody[VisitorIn]
    ) -> RegisteredVisitor:
        return await visitors.register_visitor(sc, data)

    @get("/{visitor_id:int}")
    async def get_visitor(self, sc: CallerScope, visitor_id: Id) -> VisitorDetail:
        return await visitors.get_visitor(sc, visitor_id)

    @get("/{visitor_id:int}/archive")
    async def visitor_archive(self, sc: CallerScope, visitor_id: Id) -> list[ArchiveVolumeOut]:
        """立卷归档: the petitioner's volumes by year, matters in chronological order."""
        return await lifecycle.archive_of(sc, visitor_id)


async def case_filters(
    status: Filter = None,
    view: Filter = None,
    q: Annotated[
        str | None,
        Parameter(
            max_length=200, description="受理编号、姓名（从头匹配）、身份证号码或电话（精确）"
        ),
    ] = None,
    category: Filter = None,
    channel: Filter = None,
    department: Filter = None,
    visit_kind: Filter = None,
    overdue: Filter = None,
    due_soon: Filter = None,
    mine: Filter = None,
    incoming: Filter = None,
    received_from: Filter = None,
    received_to: Filter = None,
) -> dict[str, str | None]:
    """The case list's filters as they came (text; ``cases.find_cases`` checks them): one
    set of query parameters for ``GET /cases`` and ``GET /cases.xlsx``."""
    return {
        "status": status,
        "view": view,
        "q": q,
        "category": category,
        "channel": channel,
        "department": department,
        "visit_kind": visit_kind,
        "overdue": overdue,
        "due_soon": due_soon,
        "mine": mine,
        "incoming": incoming,
        "received_from": received_from,
        "received_to": received_to,
    }


CaseFilters = NamedDependency[SkipValidation[dict[str, str | None]]]


class CaseController(Controller):
    path = "/cases"
    guards = [requires_staff]  # noqa: RUF012

    @get("/", dependencies={"filters": Provide(case_filters)})
    async def list_cases(
        self, sc: CallerScope, filters: CaseFilters, limit: Limit = 50, after: After = None
    ) -> CasePage:
        """The tenant's matters, newest first, keyset pages (``after``). Filters: ``status``
        (a status, or ``open``), ``category``, ``channel``, ``department`` (handling
        department id), ``visit_kind``, ``overdue``/``due_soon``/``mine``/``incoming``
        (1 or 0), ``received_from``/``received_to`` (dates, Asia/Shanghai), ``q``; ``view``
        a saved filter (department, incoming, reports, due_soon, overdue). A value that is
        not one of these answers 400 ``invalid_filter`` naming the field."""
        _, page = await cases.find_cases(sc, filters, after=after, limit=limit)
        return page

    @post("/", guards=[requires_registrar], status_code=HTTP_201_CREATED)
    async def register_case(self, sc: CallerScope, data: JSONBody[CaseIn]) -> CaseDetail:
        return await cases.register_case(sc, data)

    @get("/{case_id:int}")
    async def get_case(self, sc: CallerScope, case_id: Id) -> CaseDetail:
        return await cases.get_case(sc, case_id)

    @post("/{case_id:int}/actions/{action:str}", status_code=HTTP_200_OK)
    async def act(
        self, sc: CallerScope, case_id: Id, action: FromPath[str], data: JSONBody[ActionIn]
    ) -> CaseDetail:
        """One handling step (受理、转送、交办、延期、回告、办结、复查、复核、归档…)."""
        return await lifecycle.perform(sc, case_id, action, data)

    @post("/{case_id:int}/actions/notify", status_code=HTTP_200_OK)
    async def notify(self, sc: CallerScope, case_id: Id, data: JSONBody[NoticeIn]) -> CaseDetail:
        """书面告知: record the notice as given (channel, date); meets the 15-day clock."""
        notice = lifecycle.Notice(data.channel, data.given_on, data.note)
        return await lifecycle.record_notice(sc, case_id, notice, version=data.version)

    @get("/{case_id:int}/deadlines")
    async def case_deadlines(self, sc: CallerScope, case_id: Id) -> list[ClockOut]:
        """Every clock of the case (running, met, superseded) with how it was counted."""
        await cases.get_case(sc, case_id)  # 404 when not visible
        return await deadlines.clocks_of_case(sc, case_id)


class DeadlineController(Controller):
    path = "/deadlines"
    guards = [requires_staff]  # noqa: RUF012

    @get("/explain")
    async def explain(
        self,
        sc: CallerScope,
        clock: Annotated[str, Parameter(max_length=31)],
        start: FromQuery[date],
        pack: Annotated[str | None, Parameter(max_length=63)] = None,
        paused: Annotated[list[str] | None, Parameter(description="YYYY-MM-DD:YYYY-MM-DD")] = None,
        days: Annotated[int | None, Parameter(ge=1, le=3650)] = None,
    ) -> Explained:
        """Compute a deadline and explain each step (the tenant's pack by default)."""
        if pack is None:
            pack = (await tenants.get_tenant(sc)).rule_pack
        pauses = [parse_pause(x) for x in paused or []]
        return deadlines.explained(await deadlines.explain(sc, pack, clock, start, pauses, days))


class CalendarController(Controller):
    path = "/calendar"
    guards = [requires_staff]  # noqa: RUF012

    @get("/{year:int}")
    async def show(
        self, request: Req, year: Annotated[int, Parameter(ge=1, le=9999)]
    ) -> CalendarYear:
        """The official calendar of a year: holidays, make-up working days, provisional?"""
        cal = await deadlines.work_calendar()
        return calendar_year(cal, year)


class SessionController(Controller):
    path = "/sessions"
    guards = [requires_staff]  # noqa: RUF012

    @get("/")
    async def list_sessions(
        self,
        sc: CallerScope,
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
    ) -> list[SessionOut]:
        return await sessions.list_sessions(sc, start=start, end=end)

    @post("/", guards=[requires_scheduler], status_code=HTTP_201_CREATED)
    async def create_session(self, sc: CallerScope, data: JSONBody[SessionIn]) -> SessionOut:
        return await sessions.create_session(sc, data)

    @get("/{session_id:int}")
    async def get_session(self, sc: CallerScope, session_id: Id) -> SessionDetail:
        return await sessions.get_session(sc, session_id)


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[
            MeController,
            DepartmentController,
            UserController,
            TokenController,
            TenantSettingsController,
            VisitorController,
            CaseController,
            DeadlineController,
            CalendarController,
            SessionController,
        ],
        tags=["staff"],
    )
