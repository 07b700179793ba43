"""Keys, field encryption, blind indexes, password hashing and API tokens.

Nothing here reads configuration or disk: the application secret is passed in by the
caller (settings), so this module stays testable and never learns where secrets live.

Personal data (ID number, phone, address) is stored as ``Keys.encrypt`` tokens and found
again through ``Keys.blind_index`` over the canonical text from
``core.domain.identity.normalize_for_lookup`` (DOMAIN.md, "Privacy").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import InvalidInput, TooManyRequests

__all__ = [
    "MIN_SECRET_CHARS",
    "DecryptionError",
    "Keys",
    "check_password_policy",
    "configure_password_hasher",
    "configure_password_pool",
    "constant_time_equals",
    "csrf_secret",
    "derive_key",
    "hash_password",
    "hash_password_off_loop",
    "hash_token",
    "login_slot",
    "new_token",
    "password_needs_rehash",
    "reset_password_hasher",
    "verify_password",
    "verify_password_off_loop",
    "verify_token",
]

MIN_SECRET_CHARS = 32
T = TypeVar("T")

_TOKEN_PREFIX = "v1."
_NONCE_BYTES = 12  # 96-bit nonce, the size AES-GCM is specified for
_TAG_BYTES = 16
_HKDF_SALT = b"xinfang/keys/v1"
_INFO_ENCRYPTION = b"xinfang/v1/field-encryption/aes-256-gcm"
_INFO_BLIND_INDEX = b"xinfang/v1/blind-index/hmac-sha256"
_INFO_AUDIT = b"xinfang/v1/audit-chain/hmac-sha256"
_INFO_CSRF = b"xinfang/v1/csrf-token/hmac-sha256"
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class DecryptionError(ValueError):
    """A token could not be decrypted: tampered, wrong key, wrong context or malformed."""


def derive_key(secret: str, info: bytes) -> bytes:
    """A 32-byte subkey of the application secret for one use, named by ``info``
    (HKDF-SHA256): every key the application needs comes from here, so no two uses
    share a key and none of them is the secret itself."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(
        secret.encode("utf-8")
    )


def csrf_secret(secret: str) -> str:
    """The key Litestar signs CSRF tokens with (hex, as its ``CSRFConfig`` takes a str)."""
    return derive_key(secret, _INFO_CSRF).hex()


def _check_secret(secret: str, name: str) -> None:
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_CHARS:
        raise ValueError(
            f"{name} must be a string of at least {MIN_SECRET_CHARS} characters "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


class _KeySet:
    """Subkeys derived from one secret; separate keys so one use cannot attack the other."""

    __slots__ = ("aead", "audit_key", "blind_key")

    def __init__(self, secret: str) -> None:
        self.aead = AESGCM(derive_key(secret, _INFO_ENCRYPTION))
        self.blind_key = derive_key(secret, _INFO_BLIND_INDEX)
        self.audit_key = derive_key(secret, _INFO_AUDIT)

    def blind_index(self, value: str, purpose: str) -> str:
        message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self.blind_key, message, hashlib.sha256).hexdigest()


def _aad(context: str) -> bytes:
    if not context:
        raise ValueError("encryption context must not be empty")
    # The version is authenticated too, so a future format cannot be confused with v1.
    return b"xinfang:v1\x00" + context.encode("utf-8")


class Keys:
    """Application keys: field encryption (AES-256-GCM) and blind index (HMAC-SHA256).

    Rotation: build with ``Keys.from_secrets(new, previous=[old])``. New tokens are
    encrypted with the current key; ``decrypt`` tries the current key, then each previous
    one (GCM authentication tells which key is right, so tokens carry no key id).
    Blind indexes depend on the key too: during a rotation look up with every value of
    ``blind_index_candidates`` and rewrite rows with ``needs_reencrypt``.
    """

    __slots__ = ("_current", "_previous")

    def __init__(self, current: _KeySet, previous: Sequence[_KeySet] = ()) -> None:
        self._current = current
        self._previous = tuple(previous)

    def __repr__(self) -> str:
        return f"Keys(<redacted>, previous={len(self._previous)})"

    @classmethod
    def from_secret(cls, secret: str) -> Keys:
        """Derive all subkeys from one application secret (at least 32 characters)."""
        return cls.from_secrets(secret)

    @classmethod
    def from_secrets(cls, current: str, previous: Sequence[str] = ()) -> Keys:
        """Keys that encrypt with ``current`` and still decrypt tokens of ``previous``."""
        if isinstance(previous, str):
            raise TypeError("previous must be a sequence of secrets, not one string")
        _check_secret(current, "current secret")
        for old in previous:
            _check_secret(old, "previous secret")
        return cls(_KeySet(current), [_KeySet(old) for old in previous])

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext``; the token only decrypts under the same ``context``.

        ``context`` names the column (``"visitor.id_number"``), so a ciphertext copied
        into another column fails to decrypt. The token is ASCII:
        ``"v1." + base64url(nonce ‖ ciphertext ‖ tag)`` without padding. Encrypting the
        same text twice yields different tokens (random nonce): use ``blind_index`` to
        search.
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(context))
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()

    def decrypt(self, token: str, *, context: str) -> str:
        """Plaintext of a token made by ``encrypt``; ``DecryptionError`` otherwise."""
        plaintext, _ = self._open(token, context)
        return plaintext

    def needs_reencrypt(self, token: str, *, context: str) -> bool:
        """True when the token decrypts only with a previous key (rotation backlog)."""
        _, key_index = self._open(token, context)
        return key_index > 0

    def decrypt_for_rotation(self, token: str, *, context: str) -> tuple[str, bool]:
        """``(plaintext, stale)``: ``stale`` when only a previous key opens the token.

        One decryption for what ``decrypt`` + ``needs_reencrypt`` would need two for.
        """
        plaintext, key_index = self._open(token, context)
        return plaintext, key_index > 0

    @property
    def previous_count(self) -> int:
        """How many previous keys are still accepted."""
        return len(self._previous)

    def _open(self, token: str, context: str) -> tuple[str, int]:
        raw = _decode_token(token)
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        aad = _aad(context)
        for index, keyset in enumerate((self._current, *self._previous)):
            try:
                data = keyset.aead.decrypt(nonce, sealed, aad)
            except InvalidTag:
                continue
            try:
                return data.decode("utf-8"), index
            except UnicodeDecodeError as exc:  # authentic but not ours: treat as corrupt
                raise DecryptionError("decrypted data is not UTF-8 text") from exc
        raise DecryptionError("token does not decrypt: tampered, wrong key or wrong context")

    def blind_index(self, value: str, *, purpose: str) -> str:
        """Deterministic keyed hash (hex HMAC-SHA256) for exact-match search.

        ``purpose`` (e.g. ``"visitor.id_number"``) separates index spaces, so equal values
        in different columns do not produce linkable hashes. ``value`` must already be
        canonical (``normalize_for_lookup``); it is hashed as given.
        """
        _check_purpose(purpose)
        return self._current.blind_index(value, purpose)

    def blind_index_candidates(self, value: str, *, purpose: str) -> tuple[str, ...]:
        """Blind index under the current key, then under each previous key."""
        _check_purpose(purpose)
        return tuple(k.blind_index(value, purpose) for k in (self._current, *self._previous))

    def audit_mac(self, message: bytes) -> str:
        """Hex HMAC-SHA256 linking an audit row into its chain: without the application
        secret, a database owner cannot recompute a consistent chain."""
        return hmac.new(self._current.audit_key, message, hashlib.sha256).hexdigest()

    def audit_mac_candidates(self, message: bytes) -> tuple[str, ...]:
        """The audit MAC under the current key, then under each previous key (rows
        written before a rotation keep verifying)."""
        return tuple(
            hmac.new(k.audit_key, message, hashlib.sha256).hexdigest()
            for k in (self._current, *self._previous)
        )


def _check_purpose(purpose: str) -> None:
    # NUL separates purpose from value in the MAC input; allowing it would make
    # ("a\0b", "c") and ("a", "b\0c") collide.
    if not purpose or "\x00" in purpose:
        raise ValueError("blind index purpose must be non-empty and contain no NUL")


def _decode_token(token: str) -> bytes:
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise DecryptionError("not a v1 encrypted token")
    body = token[len(_TOKEN_PREFIX) :]
    if not _B64URL.fullmatch(body):
        raise DecryptionError("encrypted token is not base64url")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("encrypted token is not base64url") from exc
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("encrypted token is too short")
    return raw


# --- passwords ---------------------------------------------------------------------

# argon2-cffi's default is the RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4).
_DEFAULT_PASSWORD_HASHER = PasswordHasher()
_password_hasher = _DEFAULT_PASSWORD_HASHER

MIN_PASSWORD_CHARS = 10


def configure_password_hasher(time_cost: int, memory_cost: int, *, parallelism: int = 1) -> None:
    """Replace the Argon2 parameters process-wide (tests use cheap ones, e.g. ``1, 8``).

    Existing hashes keep verifying: their parameters are stored inside the hash.
    ``memory_cost`` is in KiB and must be at least ``8 * parallelism``.
    """
    global _password_hasher
    _password_hasher = PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
    )


def reset_password_hasher() -> None:
    """Restore the argon2-cffi recommended parameters."""
    global _password_hasher
    _password_hasher = _DEFAULT_PASSWORD_HASHER


def hash_password(pw: str) -> str:
    """Argon2id hash in PHC string format (salt and parameters included)."""
    return _password_hasher.hash(pw)


def verify_password(stored: str, pw: str) -> bool:
    """True if ``pw`` matches ``stored``; False on mismatch or an unreadable hash."""
    try:
        return _password_hasher.verify(stored, pw)
    except (VerificationError, InvalidHashError):
        return False


# Argon2 takes a fifth of a second of CPU by design (default parameters), and argon2-cffi
# releases the GIL while it runs. On the event loop each check stalled every request of
# the process (a login flood held authenticated reads for 20 s and more); in these
# threads the loop keeps serving. The pool leaves one core to the loop (cores - 1
# threads, at least one), and only a few logins per thread may be under way at once:
# beyond that a login is turned away at once ("busy", 429) instead of queueing for tens
# of seconds behind a flood.
_pool: ThreadPoolExecutor
_max_logins = 0
_logins = 0
BUSY_RETRY_AFTER = 5


def configure_password_pool(threads: int | None = None, waiting_per_thread: int = 4) -> None:
    """Size the Argon2 thread pool (default: cores - 1) and how many logins may wait."""
    global _pool, _max_logins
    threads = threads or max(1, (os.cpu_count() or 2) - 1)
    _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
    _max_logins = threads * (1 + waiting_per_thread)


configure_password_pool()


@contextmanager
def login_slot() -> Iterator[None]:
    """One of the bounded places for a login under way (lookups and password check),
    or ``TooManyRequests`` when all are taken. Taken before any work is done, so a burst
    cannot pass the check together and then queue in the pool."""
    global _logins
    if _logins >= _max_logins:
        raise TooManyRequests(
            "login_busy", "同时登录的人太多，请几秒后再试。", retry_after=BUSY_RETRY_AFTER
        )
    _logins += 1
    try:
        yield
    finally:
        _logins -= 1


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


async def verify_password_off_loop(stored: str, pw: str) -> bool:
    """``verify_password`` in the bounded Argon2 thread pool."""
    return await _off_loop(verify_password, stored, pw)


async def hash_password_off_loop(pw: str) -> str:
    """``hash_password`` in the bounded Argon2 thread pool."""
    return await _off_loop(hash_password, pw)


def password_needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with other parameters (rehash after a login)."""
    try:
        return _password_hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def check_password_policy(pw: str, field: str = "password") -> None:
    """Refuse guessable passwords with ``InvalidInput("password_too_weak")``."""
    if len(pw) < MIN_PASSWORD_CHARS:
        message = f"密码太短：至少需要{MIN_PASSWORD_CHARS}个字符。"
    elif pw.isdigit():
        message = "密码不能全部是数字，请加入字母或符号。"
    elif len(set(pw)) == 1:
        message = "密码不能由同一个字符重复组成。"
    else:
        return
    raise InvalidInput("password_too_weak", message, field=field)


# --- API / session tokens ----------------------------------------------------------

_TOKEN_PREFIX_CHARS = re.compile(r"[A-Za-z0-9_]*")


def new_token(prefix: str) -> str:
    """A new random bearer token, e.g. ``xf_…`` (256 bits of randomness, URL-safe).

    The prefix makes leaked tokens recognizable to secret scanners and humans.
    """
    if not _TOKEN_PREFIX_CHARS.fullmatch(prefix):
        raise ValueError("token prefix may contain only letters, digits and '_'")
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest for storing a token.

    A fast unsalted hash is right here: tokens carry 256 random bits, so there is
    nothing to brute-force, and lookups by hash must be deterministic.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """String comparison whose duration does not reveal where the inputs differ."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def verify_token(token: str, stored_hash: str) -> bool:
    """True if ``token`` hashes to ``stored_hash`` (constant-time comparison)."""
    return constant_time_equals(hash_token(token), stored_hash)
