"""Keys, field encryption, blind indexes, passwords and tokens."""

from __future__ import annotations

import base64
import string
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import security
from core.errors import InvalidInput
from core.security import (
    DecryptionError,
    Keys,
    check_password_policy,
    configure_password_hasher,
    constant_time_equals,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    reset_password_hasher,
    verify_password,
    verify_token,
)

SECRET = "s" * 16 + "0123456789abcdef"  # exactly 32 characters
OTHER_SECRET = "another-application-secret-0123456789"
CTX = "visitor.id_number"

keys = Keys.from_secret(SECRET)


@pytest.fixture(autouse=True, scope="module")
def cheap_argon2() -> Iterator[None]:
    configure_password_hasher(time_cost=1, memory_cost=8)
    yield
    reset_password_hasher()


# --- key derivation ------------------------------------------------------------------


def test_short_secret_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        Keys.from_secret(SECRET[:-1])


def test_short_previous_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match="previous secret"):
        Keys.from_secrets(SECRET, previous=["too-short"])


def test_previous_secrets_given_as_a_plain_string_are_rejected() -> None:
    with pytest.raises(TypeError):
        Keys.from_secrets(SECRET, previous=OTHER_SECRET)


def test_repr_does_not_leak_key_material() -> None:
    assert SECRET not in repr(keys)
    assert "redacted" in repr(keys)


def test_encryption_and_blind_index_subkeys_are_distinct_derivations() -> None:
    encryption_key = security.derive_key(SECRET, security._INFO_ENCRYPTION)
    blind_key = security.derive_key(SECRET, security._INFO_BLIND_INDEX)
    assert len(encryption_key) == len(blind_key) == 32
    assert encryption_key != blind_key
    assert SECRET.encode() not in (encryption_key, blind_key)
    assert keys._current.blind_key == blind_key


# --- encryption ----------------------------------------------------------------------


@given(st.text(max_size=200), st.text(min_size=1, max_size=40))
def test_encrypt_then_decrypt_returns_the_plaintext(plaintext: str, context: str) -> None:
    token = keys.encrypt(plaintext, context=context)
    assert keys.decrypt(token, context=context) == plaintext


@given(st.text(max_size=50))
def test_tokens_are_ascii_versioned_and_url_safe(plaintext: str) -> None:
    token = keys.encrypt(plaintext, context=CTX)
    assert token.startswith("v1.")
    assert set(token[3:]) <= set(string.ascii_letters + string.digits + "-_")


def test_same_plaintext_encrypts_to_different_tokens() -> None:
    assert keys.encrypt("110105199001011234", context=CTX) != keys.encrypt(
        "110105199001011234", context=CTX
    )


def test_token_does_not_contain_the_plaintext() -> None:
    token = keys.encrypt("13812345678", context="visitor.phone")
    assert "13812345678" not in token
    assert b"13812345678" not in base64.urlsafe_b64decode(token[3:] + "==")


def test_ciphertext_moved_to_another_column_fails_to_decrypt() -> None:
    token = keys.encrypt("13812345678", context="visitor.phone")
    with pytest.raises(DecryptionError):
        keys.decrypt(token, context="visitor.id_number")


def test_wrong_key_fails_to_decrypt() -> None:
    token = keys.encrypt("secret", context=CTX)
    with pytest.raises(DecryptionError):
        Keys.from_secret(OTHER_SECRET).decrypt(token, context=CTX)


@settings(max_examples=60)
@given(st.text(min_size=1, max_size=40), st.data())
def test_any_flipped_bit_is_detected(plaintext: str, data: st.DataObject) -> None:
    token = keys.encrypt(plaintext, context=CTX)
    raw = bytearray(base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4)))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= 1 << data.draw(st.integers(0, 7))
    tampered = "v1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(DecryptionError):
        keys.decrypt(tampered, context=CTX)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1.",
        "v2.AAAA",
        "v1.!!!!",
        "v1." + "A" * 20,
        "plain text",
        "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_tokens_raise_decryption_error(token: str) -> None:
    with pytest.raises(DecryptionError):
        keys.decrypt(token, context=CTX)


def test_decryption_error_is_a_value_error() -> None:
    assert issubclass(DecryptionError, ValueError)


def test_empty_context_is_refused() -> None:
    with pytest.raises(ValueError):
        keys.encrypt("x", context="")


# --- key rotation ------------------------------------------------------------------


def test_rotated_keys_decrypt_old_tokens_and_encrypt_with_the_new_key() -> None:
    old = Keys.from_secret(SECRET)
    old_token = old.encrypt("13812345678", context=CTX)
    rotated = Keys.from_secrets(OTHER_SECRET, previous=[SECRET])

    assert rotated.decrypt(old_token, context=CTX) == "13812345678"
    assert rotated.needs_reencrypt(old_token, context=CTX)

    new_token_ = rotated.encrypt("13812345678", context=CTX)
    assert not rotated.needs_reencrypt(new_token_, context=CTX)
    with pytest.raises(DecryptionError):
        old.decrypt(new_token_, context=CTX)


def test_rotation_keeps_context_binding() -> None:
    token = Keys.from_secret(SECRET).encrypt("x", context="visitor.phone")
    rotated = Keys.from_secrets(OTHER_SECRET, previous=[SECRET])
    with pytest.raises(DecryptionError):
        rotated.decrypt(token, context=CTX)


# --- blind index -------------------------------------------------------------------


@given(st.text(max_size=40))
def test_blind_index_is_deterministic(value: str) -> None:
    assert keys.blind_index(value, purpose=CTX) == Keys.from_secret(SECRET).blind_index(
        value, purpose=CTX
    )


def test_blind_index_is_64_hex_chars_and_hides_the_value() -> None:
    index = keys.blind_index("110105199001011234", purpose=CTX)
    assert len(index) == 64
    assert set(index) <= set("0123456789abcdef")


@given(st.text(max_size=30), st.text(max_size=30))
def test_different_values_have_different_blind_indexes(a: str, b: str) -> None:
    if a != b:
        assert keys.blind_index(a, purpose=CTX) != keys.blind_index(b, purpose=CTX)


def test_blind_index_depends_on_purpose() -> None:
    value = "13812345678"
    assert keys.blind_index(value, purpose="visitor.phone") != keys.blind_index(
        value, purpose="case.contact_phone"
    )


def test_blind_index_depends_on_the_key() -> None:
    other = Keys.from_secret(OTHER_SECRET)
    assert keys.blind_index("x", purpose=CTX) != other.blind_index("x", purpose=CTX)


def test_blind_index_is_not_a_plain_hash_of_the_value() -> None:
    import hashlib

    value = "110105199001011234"
    assert keys.blind_index(value, purpose=CTX) != hashlib.sha256(value.encode()).hexdigest()
    assert (
        keys.blind_index(value, purpose=CTX)
        != hashlib.sha256(f"{CTX}\x00{value}".encode()).hexdigest()
    )


def test_purpose_with_nul_is_refused_to_keep_the_encoding_unambiguous() -> None:
    with pytest.raises(ValueError):
        keys.blind_index("c", purpose="a\x00b")
    with pytest.raises(ValueError):
        keys.blind_index("c", purpose="")


def test_blind_index_candidates_cover_current_then_previous_keys() -> None:
    rotated = Keys.from_secrets(OTHER_SECRET, previous=[SECRET])
    candidates = rotated.blind_index_candidates("x", purpose=CTX)
    assert candidates == (
        Keys.from_secret(OTHER_SECRET).blind_index("x", purpose=CTX),
        keys.blind_index("x", purpose=CTX),
    )


# --- passwords ---------------------------------------------------------------------


def test_password_hash_verifies_only_the_right_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$garbage"])
def test_verify_password_returns_false_for_unreadable_hashes(stored: str) -> None:
    assert verify_password(stored, "whatever-password") is False


def test_hash_made_with_other_parameters_needs_rehash_but_still_verifies() -> None:
    configure_password_hasher(time_cost=2, memory_cost=16)
    stored = hash_password("long enough pw")
    configure_password_hasher(time_cost=1, memory_cost=8)
    assert verify_password(stored, "long enough pw")
    assert password_needs_rehash(stored)
    assert not password_needs_rehash(hash_password("long enough pw"))


def test_garbage_hash_needs_rehash() -> None:
    assert password_needs_rehash("not-a-hash")


def test_reset_restores_the_argon2_cffi_recommended_profile() -> None:
    from argon2 import PasswordHasher

    default = PasswordHasher()
    reset_password_hasher()
    try:
        hasher = security._password_hasher
        assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
            default.time_cost,
            default.memory_cost,
            default.parallelism,
        )
    finally:
        configure_password_hasher(time_cost=1, memory_cost=8)


@pytest.mark.parametrize(
    "password",
    ["short1!", "1234567890123", "aaaaaaaaaaaa", "          ", ""],
)
def test_weak_passwords_are_refused_in_chinese(password: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_password_policy(password, field="new_password")
    error = info.value
    assert error.code == "password_too_weak"
    assert error.field == "new_password"
    assert "密码" in error.message
    if password.strip():
        assert password not in error.message


@pytest.mark.parametrize("password", ["correct horse", "Xinfang2025!", "1234567890a"])
def test_reasonable_passwords_pass_the_policy(password: str) -> None:
    check_password_policy(password)


# --- tokens ------------------------------------------------------------------------


def test_new_tokens_carry_the_prefix_and_are_unique() -> None:
    tokens = {new_token("xf_") for _ in range(50)}
    assert len(tokens) == 50
    assert all(t.startswith("xf_") and len(t) >= 3 + 43 for t in tokens)


def test_token_prefix_must_be_header_safe() -> None:
    with pytest.raises(ValueError):
        new_token("xf token")


def test_token_hash_is_sha256_hex_and_verifies() -> None:
    token = new_token("xf_")
    stored = hash_token(token)
    assert len(stored) == 64 and token not in stored
    assert verify_token(token, stored)
    assert not verify_token(token + "x", stored)


@given(st.sampled_from(["xf_", "feed_", "o311_", ""]), st.text(max_size=60))
def test_token_hash_is_the_one_stored_before(prefix: str, body: str) -> None:
    """API tokens, leader feed tokens and Open311 keys were each hashed with their own
    ``sha256(token.encode()).hexdigest()``; the one hasher gives the same hex, so the
    hashes already in databases keep matching."""
    import hashlib

    token = prefix + body
    old = hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) == old
    assert verify_token(token, old)


def test_token_hash_known_answer() -> None:
    # FIPS 180-2 test vector: the algorithm is plain SHA-256 over UTF-8, nothing else.
    assert hash_token("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_csrf_secret_is_its_own_hkdf_subkey() -> None:
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = security.csrf_secret(SECRET)
    expected = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"xinfang/keys/v1",
        info=b"xinfang/v1/csrf-token/hmac-sha256",
    ).derive(SECRET.encode())
    assert derived == expected.hex() and len(derived) == 64
    assert derived == security.csrf_secret(SECRET)  # stable across restarts and workers
    assert derived != security.csrf_secret(OTHER_SECRET)
    assert SECRET not in derived
    # Not the old plain hash, and no other use's key.
    assert derived != hashlib.sha256(("csrf:" + SECRET).encode()).hexdigest()
    others = (security._INFO_ENCRYPTION, security._INFO_BLIND_INDEX, security._INFO_AUDIT)
    assert all(security.derive_key(SECRET, info).hex() != derived for info in others)


@given(st.text(max_size=20), st.text(max_size=20))
def test_constant_time_equals_agrees_with_equality(a: str, b: str) -> None:
    assert constant_time_equals(a, b) == (a == b)


def test_audit_mac_is_keyed_separately_and_survives_rotation() -> None:
    import hashlib
    import hmac

    message = b"0" * 64 + b'\n{"action":"login.success"}'
    mac = keys.audit_mac(message)
    assert len(mac) == 64 and mac != hashlib.sha256(message).hexdigest()
    assert mac != Keys.from_secret(OTHER_SECRET).audit_mac(message)
    # Its own HKDF subkey: not the blind-index key under another name.
    blind_key = security.derive_key(SECRET, security._INFO_BLIND_INDEX)
    assert mac != hmac.new(blind_key, message, hashlib.sha256).hexdigest()
    rotated = Keys.from_secrets(OTHER_SECRET, previous=[SECRET])
    assert rotated.audit_mac(message) != mac
    assert rotated.audit_mac_candidates(message) == (rotated.audit_mac(message), mac)
