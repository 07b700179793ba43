"""Masking of URLs in log lines (core.logs); the end-to-end check is
tests/integration/test_access_log.py against a real server."""

from __future__ import annotations

import logging

import pytest

from core import logs


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/v1/visitors", "/api/v1/visitors"),
        ("/api/v1/visitors?id_number=110105&phone=139", "/api/v1/visitors?id_number=***&phone=***"),
        ("/open311/t/v2/requests.json?api_key=o311_x", "/open311/t/v2/requests.json?api_key=***"),
        ("/x?flag&a=", "/x?flag&a=***"),
        ("/x?xf.slug.S3cr%2Ft", "/x?***"),  # a bare value pasted as the query
        ("/t/north/leaders/AbC-_d.ics", "/t/north/leaders/***.ics"),
        ("/t/north/leaders/AbC-_d", "/t/north/leaders/***"),
        ("/t/north/leaders/AbC.ics?x=1", "/t/north/leaders/***.ics?x=***"),
        ("/t/north/schedule.ics", "/t/north/schedule.ics"),
    ],
)
def test_redact_target(target: str, expected: str) -> None:
    assert logs.redact_target(target) == expected


def test_filter_masks_access_records_and_other_messages() -> None:
    f = logs.RedactFilter()
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/t/a/leaders/tok.ics?phone=139", "1.1", 200), None,
    )  # fmt: skip
    assert f.filter(access) and access.getMessage() == (
        '127.0.0.1:1 - "GET /t/a/leaders/***.ics?phone=*** HTTP/1.1" 200'
    )
    other = logging.LogRecord(
        "xinfang.web", logging.ERROR, __file__, 1, "failed on %s",
        ("https://x.cn/api/v1/visitors?id_number=110105",), None,
    )  # fmt: skip
    assert f.filter(other)
    assert other.getMessage() == "failed on https://x.cn/api/v1/visitors?id_number=***"
