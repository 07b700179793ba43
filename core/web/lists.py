"""The staff dashboard ``/`` and the case list ``/cases`` (列表与检索).

Both call the same services as ``GET /api/v1/cases`` (``cases.find_cases`` /
``cases.count_cases``): a filter refused by the API is refused here with the same
message, shown next to its field. The saved filters (「本部门待办」…) are presets of the
list's query string (``view=``), and every dashboard block links to the one that lists it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from core.domain.lifecycle import STATUS_ZH
from core.domain.rota import HALF_ZH
from core.errors import MalformedRequest
from core.schemas import CHANNEL_ZH, MAX_ID
from core.services import cases, departments, sector
from core.services.cases.dashboard import dashboard
from core.services.cases.search import (
    FILTER_FIELDS,
    STATUS_GROUPS,
    VIEWS,
    CaseFilter,
    today_of,
)
from core.services.scope import Scope
from core.web.auth import CallerScope, requires_staff
from core.web.pages import VISIT_KIND_ZH, _chrome

STATUS_GROUP_ZH = {"open": "未办结（全部办理中）"}
PAGE_SIZE = 50


def _query(values: dict[str, str], **extra: str) -> str:
    """A /cases query string: the filters in form order, then ``extra``."""
    items = [(k, values[k]) for k in FILTER_FIELDS if values.get(k)]
    items += [(k, v) for k, v in extra.items() if v]
    return urlencode(items)


def view_url(name: str) -> str:
    return f"/cases?{urlencode({'view': name})}"


async def _lookups(sc: Scope, tenant: Any) -> dict[str, Any]:
    department_list = await departments.list_departments(sc)
    return {
        "departments": department_list,
        "department_zh": {d.id: d.name for d in department_list},
        "categories": await sector.categories(sc, tenant),
    }


def _after(request: Request[Any, Any, Any]) -> int | None:
    raw = request.query_params.get("after")
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise MalformedRequest("invalid_filter", "翻页位置（after）应为正整数。", field="after")
    return int(raw)


@get("/cases", include_in_schema=False, guards=[requires_staff])
async def cases_list(sc: CallerScope, request: Request[Any, Any, Any]) -> Template:
    """The tenant's matters with the filter form, the saved-filter tabs and keyset pages;
    an htmx request gets the results only."""
    chrome = await _chrome(sc)
    tenant = chrome["tenant"]
    raw = {name: request.query_params.get(name) for name in FILTER_FIELDS}
    error = None
    try:
        after = _after(request)
        f, page = await cases.find_cases(sc, raw, after=after, limit=PAGE_SIZE)
    except MalformedRequest as exc:
        error = exc
        f, page = CaseFilter(values={k: v for k, v in raw.items() if v}), None
    context = {
        **chrome,
        **await _lookups(sc, tenant),
        "f": f,
        "values": f.values,
        "page": page,
        "error": error,
        "views": VIEWS,
        "view_url": view_url,
        "status_zh_map": STATUS_ZH,
        "status_group_zh": STATUS_GROUP_ZH,
        "status_groups": STATUS_GROUPS,
        "channel_zh": CHANNEL_ZH,
        "visit_kind_zh": VISIT_KIND_ZH,
        "next_url": f"/cases?{_query(f.values, view='', after=str(page.next_after))}"
        if page and page.next_after
        else None,
        "today": (await today_of(sc, tenant)).day,
        # The same filters as an Excel file (GET /api/v1/cases.xlsx, masked) — not for a
        # search by ID number or phone: the number would be in the page a second time.
        "export_url": f"/api/v1/cases.xlsx?{_query(f.values)}"
        if page and page.items and f.q_kind not in ("id_number", "phone")
        else None,
    }
    context["category_zh"] = {c.code: c.title_zh for c in context["categories"]}
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-target") == "results"
    )
    return Template(
        "cases/results.html" if partial else "cases/list.html",
        context=context,
        status_code=400 if error else 200,
    )


@get("/", include_in_schema=False, guards=[requires_staff])
async def home(sc: CallerScope) -> Template:
    """工作台: today's reception and duty leaders, my matters falling due or overdue,
    transfers to accept, reports to approve (supervisors) and this month's counts."""
    chrome = await _chrome(sc)
    tenant = chrome["tenant"]
    board = await dashboard(sc, tenant)
    lookups = await _lookups(sc, tenant)
    return Template(
        "home.html",
        context={
            **chrome,
            **lookups,
            "category_zh": {c.code: c.title_zh for c in lookups["categories"]},
            "board": board,
            "today": board.today,
            "half_zh": HALF_ZH,
            "view_url": view_url,
            "query_url": lambda q: f"/cases?{urlencode(q)}",
        },
    )


LISTS = [home, cases_list]
