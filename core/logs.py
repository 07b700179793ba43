"""One logging configuration for every process (docs/security.md, "Logs").

Query strings carry ID numbers, phones and the Open311 ``api_key``; a leader's private
iCal feed URL carries its token in the path. Every handler therefore masks query values
and feed tokens before a line is written: uvicorn's access log (whose request target
is a structured argument) and any other message that quotes a URL. Then control
characters are escaped (``core.logsafe``), so a request cannot forge a log line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
_FEED = re.compile(r"(/t/[^/?#\s\"]+/leaders/)[^/?#\s\"]+?(\.ics)?(?=[?#\s\"]|$)")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]{1,64}")
_QUERY_IN_TEXT = re.compile(r"\?[^\s\"'<>]*")


def _mask_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        # A name that is not a plain parameter name may itself be the secret.
        name = name if _PARAM_NAME.fullmatch(name) else MASK
        parts.append(f"{name}={MASK}" if eq else name)
    return "&".join(parts)


def redact_target(target: str) -> str:
    """``/path?a=1&b=2`` → ``/path?a=***&b=***``, feed tokens in the path masked."""
    path, sep, query = target.partition("?")
    path = _FEED.sub(rf"\1{MASK}\2", path)
    return f"{path}?{_mask_query(query)}" if sep else path


def redact_text(text: str) -> str:
    """The same for URLs quoted anywhere in a free-text message."""
    text = _FEED.sub(rf"\1{MASK}\2", text)
    return _QUERY_IN_TEXT.sub(lambda m: "?" + _mask_query(m.group(0)[1:]), text)


class RedactFilter(logging.Filter):
    """Attached to every handler, so it also sees records propagated from any logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            # (client, method, path with query, HTTP version, status): keep the structure
            # for uvicorn's AccessFormatter.
            record.args = (*args[:2], redact_target(str(args[2])), *args[3:])
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def config(level: str = "INFO") -> dict[str, Any]:
    """``logging.config.dictConfig`` input, also given to uvicorn as ``log_config``
    (``xinfang serve`` and ``xinfang run``), so web workers log the same way."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "core.logs.RedactFilter"},
            "escape": {"()": "core.logsafe.EscapeControl"},
        },
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s %(levelname)s access: %(client_addr)s - "%(request_line)s" '
                "%(status_code)s",
                "use_colors": False,
            },
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact", "escape"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["redact", "escape"],
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            # Its DEBUG lines print every SQL statement with its parameters (password and
            # token hashes, ciphertexts): never, whatever the level.
            "aiosqlite": {"level": "INFO"},
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure(level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(config(level))
