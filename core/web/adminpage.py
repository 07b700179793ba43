"""What every ``/admin`` page shares: the frame (tenant, who is logged in, the admin
sections), the posted form, and a form shown again after a refusal."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from core.principal import ROLE_NAMES_ZH, Principal
from core.services import tenants
from core.services.scope import Scope
from core.web.adminform import Refusal
from core.web.desk import field_id

Req = Request[Principal, Any, Any]

SECTIONS = [
    ("/admin", "概览"),
    ("/admin/users", "用户"),
    ("/admin/departments", "部门"),
    ("/admin/plugins", "插件"),
    ("/admin/settings", "机构设置"),
    ("/admin/calendar", "工作日历"),
    ("/admin/open311", "Open311"),
    ("/admin/audit", "审计日志"),
]
NO_REFUSAL = Refusal({}, [])


async def chrome(sc: Scope, section: str) -> dict[str, Any]:
    """The page frame: the tenant, the admin, which section is open."""
    p = sc.actor
    return {
        "tenant": await tenants.get_tenant(sc),
        "user": p,
        "roles_zh": [ROLE_NAMES_ZH[r] for r in sorted(p.roles)],
        "role_names": ROLE_NAMES_ZH,
        "sections": SECTIONS,
        "section": section,
        "fid": field_id,
    }


def page(
    name: str,
    frame: dict[str, Any],
    *,
    refused: Refusal = NO_REFUSAL,
    status: int = 200,
    **context: Any,
) -> Template:
    """An admin page; after a refusal the messages stand at their inputs, the first
    refused input has the focus (else the summary)."""
    focus = next(iter(refused.errors), "summary" if refused.summary else None)
    return Template(
        f"admin/{name}.html",
        context={
            **frame,
            "values": {},
            "errors": refused.errors,
            "summary": refused.summary,
            "focus": focus,
            **context,
        },
        status_code=status,
    )


async def posted(request: Req) -> list[tuple[str, str]]:
    """The form's text fields, in order (files are read where they are expected)."""
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def typed_values(pairs: list[tuple[str, str]], *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The inputs as typed, to fill the form again (never a password, never the token)."""
    values: dict[str, Any] = {
        k: v for k, v in pairs if not k.startswith("_") and "password" not in k
    }
    for name in lists:
        values[name] = [v for k, v in pairs if k == name]
    return values
