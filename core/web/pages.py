"""zh-CN staff pages: login, the case list of the staff member's own tenant, logout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from core.errors import NotAuthenticated, TooManyRequests
from core.principal import ROLE_NAMES_ZH, Principal
from core.services import cases, sector, tenants, users
from core.web.auth import requires_staff, runtime_of

STATUS_ZH = {
    "registered": "已登记",
    "accepted": "已受理",
    "not_accepted": "不予受理",
    "transferring": "转送中",
    "assignment_pending": "待批准交办",
    "in_progress": "办理中",
    "reported": "已回告",
    "closed": "已办结",
    "review": "复查中",
    "rereview": "复核中",
    "final": "已终结",
    "archived": "已归档",
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


@get("/", include_in_schema=False, guards=[requires_staff])
async def home(
    request: Request[Principal, Any, Any], after: FromQuery[int | None] = None
) -> Template:
    rt = runtime_of(request)
    p = request.user
    tenant = await tenants.get_tenant(rt, p.tenant_id)
    page = await cases.list_cases(rt, p, after=after, limit=50)
    category_zh = {c["code"]: c["title_zh"] for c in await sector.categories(rt, tenant)}
    return Template(
        "home.html",
        context={
            "tenant": tenant,
            "user": p,
            "page": page,
            "status_zh": STATUS_ZH,
            "category_zh": category_zh,
            "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(p.roles)],
        },
    )


PAGES = [login_page, login_submit, logout, home]
