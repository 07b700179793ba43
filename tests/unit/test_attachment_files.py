"""Attachments: the type comes from the content's first bytes, the stored name is made
safe (no path, no control or quoting characters, the real type's extension)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.services.attachments import MAX_NAME, PayloadTooLarge, check_file, safe_filename, sniff


def test_the_type_is_told_by_the_content_not_the_name() -> None:
    assert sniff(b"%PDF-1.7\n") == "application/pdf"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00") == "image/png"
    for other in (b"MZ\x90\x00", b"GIF89a", b"<html>", b"PK\x03\x04", b"%PD", b""):
        assert sniff(other) is None, other


def test_refusals_name_the_file_field_with_a_stable_code() -> None:
    with pytest.raises(InvalidInput) as empty:
        check_file(b"", 10)
    assert (empty.value.code, empty.value.field) == ("empty", "file")
    with pytest.raises(InvalidInput) as missing:
        check_file(None, 10)
    assert missing.value.code == "file_required"
    with pytest.raises(PayloadTooLarge) as big:
        check_file(b"%PDF-" + b"x" * 10, 10)
    assert (big.value.code, big.value.status) == ("too_large", 413)
    with pytest.raises(InvalidInput) as exe:
        check_file(b"MZ" + b"\0" * 8, 1000)
    assert exe.value.code == "unsupported_type"
    assert check_file(b"%PDF-1.4", 1000) == "application/pdf"


@pytest.mark.parametrize(
    ("name", "ctype", "expected"),
    [
        ("scan.pdf", "image/png", "scan.png"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\张三\\来信 2026.JPG", "image/jpeg", "来信 2026.jpg"),
        ('a"b;c\r\nd.png', "image/png", "a_b_cd.png"),
        ("", "application/pdf", "附件.pdf"),
        ("...", "image/png", "附件.png"),
        ("report.tar.gz.exe", "application/pdf", "report.tar.gz.pdf"),
    ],
)
def test_stored_names_are_safe(name: str, ctype: str, expected: str) -> None:
    assert safe_filename(name, ctype) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_filename("信" * 500 + ".pdf", "application/pdf")
    assert len(name) == MAX_NAME and name.endswith(".pdf")
