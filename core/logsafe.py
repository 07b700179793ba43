"""Log lines that cannot be forged.

Values logged from a request (a path, a slug, an exception's message) may carry CR/LF,
NUL or terminal escapes: written raw, ``GET /t/a%0d%0aERROR…`` would add a fake
``ERROR`` line to the log. :class:`EscapeControl` escapes control characters in a
record's arguments and exception text (``\\r\\n`` is written as the four characters
``\\r\\n``), so one record stays one line of its own. Every handler of
``core.logs.config`` (the ``xinfang`` command's and uvicorn's) carries the filter.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Verbatim(str):
    """Text our own code produced (traceback frames): logged as it is, line breaks kept."""


def escape(text: str) -> str:
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _escape_arg(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Verbatim):
        return value
    return escape(str(value))


def _exception_text(exc_info: Any) -> str:
    parts = []
    for chunk in traceback.TracebackException(*exc_info).format():
        # Frames and the fixed headers come from our code; the "Type: message" lines
        # are where outside text (a value in the message) gets in.
        if chunk.startswith((" ", "\n", "Traceback (most recent call last):")):
            parts.append(chunk)
        else:
            parts.append(escape(chunk.rstrip("\n")) + "\n")
    return "".join(parts).rstrip("\n")


class EscapeControl(logging.Filter):
    """Escape control characters in what a record brings from outside."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {k: _escape_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_escape_arg(a) for a in record.args)
        elif isinstance(record.msg, str) and not isinstance(record.msg, Verbatim):
            record.msg = escape(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            # Always: another handler's formatter may have cached the raw text already.
            record.exc_text = _exception_text(record.exc_info)
        return True
