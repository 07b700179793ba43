"""zh-CN staff pages: login, the tenant's case list, the case page, the staff member's
inbox, logout (the rota's pages are ``core.web.rota_pages``).

Handlers only call the same service functions as the JSON API (so a page never shows
what the API would refuse) and pass labels; times go through ``core.timefmt`` filters.
Every path a message links to is built by ``core.links``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template

from core import links
from core.domain.lifecycle import ACTIONS, event_zh, status_zh
from core.errors import NotAuthenticated, TooManyRequests
from core.principal import ROLE_NAMES_ZH
from core.schemas import (
    LEGAL_CATEGORY_ZH,
    NOTICE_CHANNEL_ZH,
    OPINION_ZH,
    PURPOSE_ZH,
    REDIRECT_CHANNEL_ZH,
    Id,
)
from core.services import (
    attachments,
    cases,
    deadlines,
    departments,
    inbox,
    sector,
    tenants,
    users,
)
from core.services.documents import documents_of
from core.services.scope import Scope
from core.settings import TIMEZONE
from core.timefmt import FILTERS
from core.web.api import After
from core.web.auth import CallerScope, requires_staff, runtime_of
from core.web.rota_pages import ROTA_PAGES

VISIT_KIND_ZH = {"first": "初次信访", "repeat": "重复信访"}
URGENCY_ZH = {"normal": "一般", "high": "较急", "urgent": "紧急"}
CLOCK_STATE_ZH = {
    "open": "计时中",
    "met": "已完成",
    "superseded": "已重新计算",
    "cancelled": "已取消",
}
# Event details worth a line on the timeline (others stay in the API's event data).
EVENT_FIELDS_ZH = {
    "reason": "理由",
    "note": "说明",
    "plan": "办理方案",
    "minutes": "会议纪要",
    "opinion_text": "处理意见",
    "answer": "当场答复",
    "notice": "告知内容",
    "repeat_of": "重复事项",
}


def configure_templates(engine: JinjaTemplateEngine) -> None:
    """Filters and helpers every template may use (registered in ``core.web.app``)."""
    engine.engine.filters.update(FILTERS)
    engine.engine.filters["status_zh"] = status_zh
    engine.engine.globals["case_url"] = links.case_url
    engine.engine.globals["links"] = links


async def _chrome(sc: Scope) -> dict[str, Any]:
    """What the page frame shows: the tenant and who is logged in."""
    p = sc.actor
    tenant = await tenants.get_tenant(sc)
    return {
        "tenant": tenant,
        "user": p,
        "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(p.roles)],
    }


@dataclass
class LoginForm:
    tenant: str = ""
    username: str = ""
    password: str = ""
    next: str = "/"


@get("/login", include_in_schema=False)
async def login_page(next: FromQuery[str] = "/") -> Template:
    return Template("login.html", context={"next": next, "error": None, "form": LoginForm()})


@post("/login", include_in_schema=False, status_code=200)
async def login_submit(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    rt = runtime_of(request)
    try:
        principal = await users.login(
            rt,
            data.tenant.strip(),
            data.username.strip(),
            data.password,
            address=request.client.host if request.client else None,
        )
    except TooManyRequests as exc:
        data.password = ""
        return Template(
            "login.html",
            context={"next": data.next, "error": exc.message, "form": data},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except NotAuthenticated as exc:
        data.password = ""
        return Template(
            "login.html",
            context={"next": data.next, "error": exc.message, "form": data},
            status_code=401,
        )
    request.set_session(
        {
            "tenant_id": principal.tenant_id,
            "tenant_slug": principal.tenant_slug,
            "user_id": principal.user_id,
        }
    )
    target = data.next if data.next.startswith("/") and not data.next.startswith("//") else "/"
    return Redirect(target, status_code=303)


@post("/logout", include_in_schema=False, guards=[requires_staff], status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/cases/{case_id:int}", include_in_schema=False, guards=[requires_staff])
async def case_page(sc: CallerScope, case_id: Id, done: FromQuery[str | None] = None) -> Template:
    """One case: the same detail, clocks and events as the JSON API, and the forms of the
    actions allowed now (``core.web.case_actions``); ``done`` names the step just taken."""
    context = await case_context(sc, case_id)
    if done in ACTIONS:
        context["done_zh"] = ACTIONS[done].title_zh
    return Template("case.html", context=context)


async def case_context(sc: Scope, case_id: int) -> dict[str, Any]:
    """What case.html shows; the action pages re-render it with the refusal added."""
    chrome = await _chrome(sc)
    tenant = chrome["tenant"]
    case = await cases.get_case(sc, case_id)  # 404: other tenant, excluded, missing
    clocks = await deadlines.clocks_of_case(sc, case_id)
    pack = deadlines.pack_for(sc, tenant)
    category_zh = {c.code: c.title_zh for c in await sector.categories(sc, tenant)}
    department_list = await departments.list_departments(sc)
    staff = [u for u in await users.list_users(sc) if u.active] if case.allowed_actions else []
    files = await attachments.list_attachments(sc, case_id)
    return {
        **chrome,
        "case": case,
        "clocks": clocks,
        "documents": await documents_of(sc, case),
        "clock_zh": {name: rule.title_zh for name, rule in pack.clocks.items()},
        "clock_state_zh": CLOCK_STATE_ZH,
        "category_zh": category_zh,
        "department_zh": {d.id: d.name for d in department_list},
        "visit_kind_zh": VISIT_KIND_ZH,
        "urgency_zh": URGENCY_ZH,
        "purpose_zh": PURPOSE_ZH,
        "legal_category_zh": LEGAL_CATEGORY_ZH,
        "opinion_zh": OPINION_ZH,
        "event_zh": event_zh,
        "event_fields_zh": EVENT_FIELDS_ZH,
        # The action forms (case/actions.html): titles, choices, the people and offices.
        "actions_zh": {name: a.title_zh for name, a in ACTIONS.items()},
        "departments": department_list,
        "staff": staff,
        "handlers": [u for u in staff if "handler" in u.roles],
        "redirect_channel_zh": REDIRECT_CHANNEL_ZH,
        "notice_channel_zh": NOTICE_CHANNEL_ZH,
        "today": sc.rt.clock.now().astimezone(TIMEZONE).date().isoformat(),
        "failed": None,
        "error": None,
        "error_field": None,
        "stale": None,
        "done_zh": None,
        "form": {},
        # Reveal (case/person.html) and attachments (case/attachments.html).
        "revealed": None,
        "reveal_error": None,
        "reveal_error_field": None,
        "reveal_form": {},
        "attachments": files,
        "attachment_error": None,
        "attachment_type_zh": attachments.TYPE_ZH,
    }


@get(links.INBOX, include_in_schema=False, guards=[requires_staff])
async def inbox_page(sc: CallerScope, before: After = None) -> Template:
    """The staff member's own messages, newest first (read-only for now)."""
    chrome = await _chrome(sc)
    page = await inbox.list_messages(sc, before=before, limit=50)
    return Template("inbox.html", context={**chrome, "page": page})


PAGES = [login_page, login_submit, logout, case_page, inbox_page, *ROTA_PAGES]
