"""/reports — 报表 for 督查督办 and administrators: the month's 矛盾纠纷排查表 and the
year's work report, each one pick and one click. The forms ask the API's own
operations (``GET /api/v1/reports/…``, read with the session cookie) for the files."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

from core.settings import TIMEZONE
from core.web.auth import CallerScope
from core.web.pages import _chrome
from core.web.reports import requires_supervisor


@get("/reports", include_in_schema=False, guards=[requires_supervisor])
async def reports_page(sc: CallerScope) -> Template:
    today = sc.rt.clock.now().astimezone(TIMEZONE).date()
    context = {
        **await _chrome(sc),
        "month": f"{today.year}-{today.month:02d}",
        "year": today.year,
    }
    return Template("reports/index.html", context=context)


REPORT_PAGES = [reports_page]
