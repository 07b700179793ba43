"""Key-rotation plumbing that needs no database: the previous-keys setting, the runtime's
key ring, and a guard that every encrypted column and context is one rotation rewrites."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.db.tables import ALL_TABLES
from core.runtime import Runtime
from core.security import Keys
from core.services.keys import CONTEXTS, SPECS
from core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
OLD = "old-secret-key-0123456789-abcdefghijklmnopq"
OLDER = "older-secret-key-0123456789-abcdefghijklmno"
NEW = "new-secret-key-0123456789-abcdefghijklmnopqr"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"XINFANG_DATA_DIR": str(tmp_path), "XINFANG_SECRET_KEY": NEW, **extra}


def test_previous_keys_are_comma_separated_trimmed_and_deduplicated(tmp_path: Path) -> None:
    settings = load_settings(
        _env(tmp_path, XINFANG_PREVIOUS_SECRET_KEYS=f" {OLD} ,{OLDER},,{OLD},{NEW}")
    )
    assert settings.previous_secret_keys == (OLD, OLDER)  # the current key is not "previous"
    assert load_settings(_env(tmp_path)).previous_secret_keys == ()
    assert load_settings(_env(tmp_path, XINFANG_PREVIOUS_SECRET_KEYS="")).previous_secret_keys == ()


def test_a_short_previous_key_stops_the_process_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        load_settings(_env(tmp_path, XINFANG_PREVIOUS_SECRET_KEYS=f"{OLD},short-secret"))
    assert "XINFANG_PREVIOUS_SECRET_KEYS" in str(exc.value)
    assert "short-secret" not in str(exc.value)


def test_the_runtime_encrypts_with_the_new_key_and_still_opens_the_old(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, XINFANG_PREVIOUS_SECRET_KEYS=OLD))
    keys = Runtime.build(settings).keys
    old_token = Keys.from_secret(OLD).encrypt("13800138000", context="visitor.phone")
    assert keys.decrypt_for_rotation(old_token, context="visitor.phone") == ("13800138000", True)
    new_token = keys.encrypt("13800138000", context="visitor.phone")
    assert keys.decrypt_for_rotation(new_token, context="visitor.phone") == ("13800138000", False)
    assert Keys.from_secret(NEW).decrypt(new_token, context="visitor.phone") == "13800138000"
    assert keys.previous_count == 1
    assert keys.blind_index_candidates("x", purpose="phone") == (
        Keys.from_secret(NEW).blind_index("x", purpose="phone"),
        Keys.from_secret(OLD).blind_index("x", purpose="phone"),
    )


def _encrypt_contexts() -> list[tuple[str, str]]:
    """(file, context or its constant prefix) of every ``….encrypt(…, context=…)`` call."""
    found = []
    skip = {ROOT / "core/security.py", ROOT / "core/services/keys.py"}  # Keys itself, rotation
    for folder in ("core", "plugins", "daemon"):
        for path in set((ROOT / folder).rglob("*.py")) - skip:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                contexts = [
                    k.value
                    for k in getattr(node, "keywords", ())
                    if k.arg == "context" and getattr(node.func, "attr", "") == "encrypt"
                ]
                if not contexts:
                    continue
                ctx = contexts[0]
                if isinstance(ctx, ast.JoinedStr):
                    ctx = ctx.values[0]
                assert isinstance(ctx, ast.Constant), f"{path}: context must start constant"
                found.append((str(path.relative_to(ROOT)), str(ctx.value)))
    return found


def test_every_encryption_context_in_the_code_is_rotated() -> None:
    sites = _encrypt_contexts()
    assert ("core/services/sector.py", "form.") in sites  # the scan finds the known sites
    missing = [
        (where, ctx)
        for where, ctx in sites
        if not any(ctx == c or (c.endswith(".") and ctx.startswith(c)) for c in CONTEXTS)
    ]
    assert not missing, f"teach core/services/keys.py to rotate these: {missing}"


def test_every_encrypted_column_is_walked_by_the_rotation() -> None:
    walked = {(s.table._meta.tablename, c._meta.name) for s in SPECS.values() for c in s.columns}
    encrypted = {
        (table._meta.tablename, column._meta.name)
        for table in ALL_TABLES
        for column in table._meta.columns
        if column._meta.name.endswith("_enc")
    }
    assert encrypted and encrypted <= walked, encrypted - walked
