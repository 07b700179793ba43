"""The case page's action forms: POST /cases/{id}/act/{action}.

A form post goes through the same service as POST /api/v1/cases/{id}/actions/{action}
(``lifecycle.perform``, ``lifecycle.record_notice`` for 书面告知), with the version the
clerk saw. Success: 303 back to the case page naming the step taken. A refusal: the page
again with the refusal's status and message next to that action's form (nothing saved);
a 409 says the matter changed and shows the actions possible now.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import links
from core.errors import Conflict, DomainError
from core.schemas import ActionIn, Id, NoticeIn
from core.services import lifecycle
from core.services.scope import Scope
from core.validation import convert
from core.web.auth import CallerScope, requires_staff
from core.web.pages import case_context

LISTS = frozenset({"department_ids", "fields"})
"""ActionIn fields that are lists: a form repeats the name once per value."""
STALE_ZH = "此事项已被他人更新，以下是现在可以办理的事项。"


def form_values(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A posted form as the body the API would get: empty fields left out (so the
    service names what is missing), list fields gathered, the CSRF token dropped."""
    out: dict[str, Any] = {}
    for key, raw in pairs:
        if key.startswith("_") or not isinstance(raw, str):
            continue
        value = raw.strip()
        if key in LISTS:
            if value:
                out.setdefault(key, []).append(value)
        elif value:
            out[key] = value
    return out


async def _act(sc: Scope, case_id: int, action: str, values: dict[str, Any]) -> None:
    if action == "notify":
        notice_in = convert(values, NoticeIn, strict=False)
        notice = lifecycle.Notice(notice_in.channel, notice_in.given_on, notice_in.note)
        await lifecycle.record_notice(sc, case_id, notice, version=notice_in.version)
    else:
        await lifecycle.perform(sc, case_id, action, convert(values, ActionIn, strict=False))


@post(
    "/cases/{case_id:int}/act/{action:str}",
    include_in_schema=False,
    guards=[requires_staff],
    status_code=303,
)
async def case_act(
    request: Request[Any, Any, Any], sc: CallerScope, case_id: Id, action: FromPath[str]
) -> Template | Redirect:
    form = await request.form()
    values = form_values(list(form.multi_items()))
    try:
        await _act(sc, case_id, action, values)
    except DomainError as exc:
        if exc.status == 404:
            raise  # another tenant's, excluded or missing: the plain 404 page
        context = await case_context(sc, case_id)
        stale = isinstance(exc, Conflict) and (
            exc.code == "stale_case" or action not in context["case"].allowed_actions
        )
        context.update(
            failed=action,
            error=exc.message,
            error_field=exc.field,
            stale=STALE_ZH if stale else None,
            form={} if stale else values,
        )
        return Template("case.html", context=context, status_code=exc.status)
    return Redirect(f"{links.case_url(case_id)}?done={quote(action)}", status_code=303)


CASE_ACTION_PAGES = [case_act]
