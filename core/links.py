"""Every link the product writes for a person (inbox messages, e-mails, plugin channels)
is built here, and the staff pages (``core.web.pages``) answer exactly these paths, so a
link cannot drift from its page. Links are site-relative; :func:`absolute` prefixes
``XINFANG_BASE_URL`` where a message leaves the site (e-mail, SMS, iCal feeds)."""

from __future__ import annotations

INBOX = "/inbox"
"""The staff member's own messages (daily digests point here)."""
MY_ROTA = "/rota/mine"
"""The staff member's own reception days, swap requests and calendar link (rota notices
point here)."""
ROTA = "/rota"
"""The rota: for schedulers templates, generation, publishing and swaps to approve; for
anyone else their own days as on ``MY_ROTA`` (where notices sent before it linked)."""


def case_url(case_id: int) -> str:
    """The staff case page."""
    return f"/cases/{int(case_id)}"


def public_lookup(tenant_slug: str) -> str:
    """The public page where a petitioner looks up their matter by receipt code (and the
    last 4 digits of their phone)."""
    return f"/t/{tenant_slug}/lookup"


def absolute(base_url: str, link: str) -> str:
    """``link`` as a full URL on this site (left alone when it already is one)."""
    if link.startswith(("http://", "https://")):
        return link
    return f"{base_url.rstrip('/')}/{link.lstrip('/')}"
