"""Security headers on every response (docs/security.md, "Headers").

A ``before_send`` hook on the app, so that static files, the schema, error pages and
404s of unknown paths get them too (route middleware never sees those).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

# Pages load scripts and styles only from /static (no inline code anywhere: the tests
# check every page), and no page may be framed.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"


def security_headers(base_url: str) -> Callable[[Message, Scope], Awaitable[None]]:
    fixed = {
        "content-security-policy": CSP,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }
    if base_url.startswith("https://"):
        fixed["strict-transport-security"] = HSTS

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in fixed.items():
            headers[name] = value
        path: str = scope.get("path", "")
        if scope.get("user") is not None or _credentials(scope):
            # Whatever a signed-in caller sees stays out of every cache.
            headers["cache-control"] = "no-store"
        elif "cache-control" not in headers and not path.startswith("/static/"):
            headers["cache-control"] = "no-store"

    return before_send


def _credentials(scope: Any) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))
