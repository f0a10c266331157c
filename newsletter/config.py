"""Configuration: one place that reads the environment (and ./.env) and coerces types."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from email.utils import parseaddr, quote
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from limits import parse_many

from newsletter.errors import ConfigError

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_MAIL_FROM = "Newsletter <newsletter@localhost>"


# The organisation's identity: set in the admin (/admin/settings, stored in the database) or
# in the environment, which wins. MAIL_FROM_SYSTEM, BOUNCE_DOMAIN and BOUNCE_COMPLAINTS_ADDRESS
# follow MAIL_FROM unless the environment sets them.
IDENTITY_SETTINGS = ("ORG_NAME", "ORG_ADDRESS", "SITE_TITLE", "MAIL_FROM")
DERIVED_FROM_MAIL_FROM = ("MAIL_FROM_SYSTEM", "BOUNCE_DOMAIN", "BOUNCE_COMPLAINTS_ADDRESS")


def instance_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The embedded-mode instance folder: the folder NEWSLETTER_INSTANCE names, else
    ./instance/ in the current directory."""
    env = os.environ if environ is None else environ
    chosen = env.get("NEWSLETTER_INSTANCE", "").strip()
    if chosen:
        return (Path.cwd() / Path(chosen).expanduser()).resolve()
    return Path.cwd() / "instance"


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over the values of ./.env (the environment wins)."""
    env_file = Path.cwd() / ".env"
    values: dict[str, str] = {}
    if env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value <= 0:
        raise ConfigError(f"{name} must be a whole number above 0, not {value}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise ConfigError(f"{name} must be a number of seconds above 0, not {value:g}")
    return value


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise ConfigError(f"{name} must be a number above 0, not {value:g}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _rate(env: Mapping[str, str], name: str) -> dict[str, str]:
    """{name: value} when the environment sets a valid rate limit, else {} (keep the default)."""
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a rate limit like '10 per minute', not {raw!r}"
        ) from None
    return {name: raw}


def _sender(env: Mapping[str, str], name: str, default: str) -> str:
    """A From setting (`Name <address>`), refused unless its address can go on any relay."""
    value = env.get(name, "").strip() or default
    local, at, domain = parseaddr(value)[1].rpartition("@")
    if not at or not local or not domain:
        raise ConfigError(f"{name} must be an address such as 'News <news@example.org>'")
    if not local.isascii():
        # The domain may be international (it goes in ASCII); the part before the @ cannot,
        # on a relay without SMTPUTF8, and every message would then fail.
        raise ConfigError(f"{name} must have only ASCII letters before the @")
    return value


# Characters that make a display name need quotes (RFC 5322 specials), as formataddr has them.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def mailbox(name: str, address: str) -> str:
    """`Name <address>` as a From setting is written, in Unicode, the name quoted when it holds
    a comma or another special: the mail layer encodes the name and puts the domain in ASCII
    when it builds each message (email.utils.formataddr would refuse an international domain
    and encode the name here, so that inboxes showed it encoded)."""
    if not name:
        return address
    if _SPECIALS.search(name):
        name = f'"{quote(name)}"'
    return f"{name} <{address}>"


def system_from(mail_from: str) -> str:
    """MAIL_FROM with its local part replaced by noreply."""
    name, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "localhost"
    return mailbox(name, f"noreply@{domain}")


def site_title(config: Mapping[str, object]) -> str:
    """The public site's title: SITE_TITLE, else "<ORG_NAME> newsletter", never
    "Newsletter newsletter" (a name that says newsletter already is used as it is)."""
    title = str(config.get("SITE_TITLE") or "").strip()
    if title:
        return title
    org_name = str(config.get("ORG_NAME") or "Newsletter").strip()
    if org_name.lower().endswith(("newsletter", "newsletters", "news")):
        return org_name
    return f"{org_name} newsletter"


def env_names(config: Mapping[str, object]) -> frozenset[str]:
    """The identity settings the environment gives (SETTINGS_FROM_ENV)."""
    names = config.get("SETTINGS_FROM_ENV")
    return frozenset(names) if isinstance(names, (set, frozenset, list, tuple)) else frozenset()


def apply_stored_identity(
    base: Mapping[str, object], stored: Mapping[str, str]
) -> dict[str, object]:
    """The identity settings with the admin's stored values merged under the environment.

    `base` is the configuration the process started with (environment, defaults, or a test's
    overrides) and `stored` the values saved on /admin/settings (ORG_NAME, ORG_ADDRESS,
    SITE_TITLE, MAIL_FROM; empty means unset). A name the environment sets keeps its value;
    otherwise a stored value replaces the base one. A stored From also moves what follows
    MAIL_FROM (MAIL_FROM_SYSTEM, BOUNCE_DOMAIN, BOUNCE_COMPLAINTS_ADDRESS) unless the
    environment sets those.
    """
    from_env = env_names(base)
    merged: dict[str, object] = {}
    for name in IDENTITY_SETTINGS:
        value = (stored.get(name) or "").strip()
        merged[name] = base.get(name) if name in from_env or not value else value
    mail_from = str(merged["MAIL_FROM"])
    if mail_from == base.get("MAIL_FROM"):
        merged.update({name: base.get(name) for name in DERIVED_FROM_MAIL_FROM})
        return merged
    bounce_domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    derived = {
        "MAIL_FROM_SYSTEM": system_from(mail_from),
        "BOUNCE_DOMAIN": bounce_domain,
        "BOUNCE_COMPLAINTS_ADDRESS": f"complaints@{bounce_domain}",
    }
    if "BOUNCE_DOMAIN" in from_env:
        derived["BOUNCE_DOMAIN"] = str(base.get("BOUNCE_DOMAIN"))
        derived["BOUNCE_COMPLAINTS_ADDRESS"] = f"complaints@{base.get('BOUNCE_DOMAIN')}"
    for name in DERIVED_FROM_MAIL_FROM:
        merged[name] = base.get(name) if name in from_env else derived[name]
    return merged


def _generated_secret_key(folder: Path) -> str:
    """Read ./instance/secret_key, creating it (owner-only) on first use."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_config(
    environ: Mapping[str, str] | None = None, create_instance: bool = True
) -> dict[str, object]:
    """Flask config built from the environment; raises ConfigError on a bad value.

    Without `create_instance` (the command line's help, which only lists commands) nothing is
    written: no instance folder, no secret key file; a secret key there is read if it exists,
    else a throwaway one serves that app, which opens no database and signs nothing.
    """
    env = read_environment(environ)
    database_url = env.get("DATABASE_URL", "").strip()
    embedded = not database_url
    folder = instance_dir(env)
    new_instance = embedded and not (folder / "newsletter.db").exists()
    secret_key = env.get("SECRET_KEY", "").strip()
    if embedded and not create_instance:
        database_url = f"sqlite:///{folder / 'newsletter.db'}"
        if not secret_key:
            existing = folder / "secret_key"
            secret_key = (
                existing.read_text().strip() if existing.is_file() else secrets.token_urlsafe(48)
            )
    elif embedded:
        database_url = f"sqlite:///{folder / 'newsletter.db'}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not secret_key:
                secret_key = _generated_secret_key(folder)
        except OSError as error:
            # A file in its place, no permission, a read-only disk: one line, not a traceback.
            reason = error.strerror or type(error).__name__
            raise ConfigError(f"cannot use the instance folder {folder}: {reason}") from None
    elif not secret_key:
        raise ConfigError("SECRET_KEY is required when DATABASE_URL is set")
    mail_from = _sender(env, "MAIL_FROM", DEFAULT_MAIL_FROM)
    base_url = env.get("BASE_URL", "").strip().rstrip("/")
    bounce_domain = (
        env.get("BOUNCE_DOMAIN", "").strip() or parseaddr(mail_from)[1].rpartition("@")[2]
    ) or "localhost"
    return {
        "EMBEDDED": embedded,
        "INSTANCE_DIR": str(folder) if embedded else None,
        # True when no database was in the instance folder: the CLI says it starts a new one.
        "INSTANCE_NEW": new_instance,
        # Which identity settings the environment gives: the admin's settings page shows them
        # read-only, and stored settings never override them (apply_stored_identity).
        "SETTINGS_FROM_ENV": frozenset(
            name for name in IDENTITY_SETTINGS + DERIVED_FROM_MAIL_FROM if env.get(name, "").strip()
        ),
        # The public pages' title; when empty, site_title(ORG_NAME) ("<org> newsletter").
        "SITE_TITLE": env.get("SITE_TITLE", "").strip(),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": _split_list(env.get("SECRET_KEY_FALLBACKS")),
        "SUPPRESSION_KEY": env.get("SUPPRESSION_KEY", "").strip() or None,
        "REDIS_URL": env.get("REDIS_URL", "").strip() or None,
        "SMTP_URL": env.get("SMTP_URL", "").strip() or None,
        "BASE_URL": base_url or None,
        "MAIL_FROM": mail_from,
        "MAIL_FROM_SYSTEM": _sender(env, "MAIL_FROM_SYSTEM", system_from(mail_from)),
        "BOUNCE_DOMAIN": bounce_domain,
        # The bounce receiver (newsletter/bounces/): where feedback loops send complaints, and
        # the soft-bounce policy: this many different issues soft-bouncing within this many days.
        "BOUNCE_COMPLAINTS_ADDRESS": env.get("BOUNCE_COMPLAINTS_ADDRESS", "").strip()
        or f"complaints@{bounce_domain}",
        "BOUNCE_SOFT_LIMIT": _int(env, "BOUNCE_SOFT_LIMIT", 3),
        "BOUNCE_SOFT_DAYS": _int(env, "BOUNCE_SOFT_DAYS", 30),
        # What the receiver reads of one message (the report comes first; a long original
        # returned after it is cut), and how many SMTP sessions it holds open at once.
        "BOUNCE_MAX_MESSAGE_BYTES": _positive_int(env, "BOUNCE_MAX_MESSAGE_BYTES", 1024 * 1024),
        "BOUNCE_MAX_SESSIONS": _positive_int(env, "BOUNCE_MAX_SESSIONS", 20),
        # Delivery rows older than this are folded into per-issue counts and deleted.
        "DELIVERY_RETENTION_DAYS": _int(env, "DELIVERY_RETENTION_DAYS", 730),
        # An uploaded import file (it holds addresses and names) is deleted once its import
        # finishes, and at the latest this many hours after the upload, imported or not.
        "IMPORT_UPLOAD_RETENTION_HOURS": _positive_number(env, "IMPORT_UPLOAD_RETENTION_HOURS", 24),
        "ORG_NAME": env.get("ORG_NAME", "").strip() or "Newsletter",
        "ORG_ADDRESS": env.get("ORG_ADDRESS", "").strip(),
        "SEND_RATE": _int(env, "SEND_RATE", 0),
        "DKIM_DOMAIN": env.get("DKIM_DOMAIN", "").strip() or None,
        "DKIM_SELECTOR": env.get("DKIM_SELECTOR", "").strip() or None,
        "DKIM_KEY_FILE": env.get("DKIM_KEY_FILE", "").strip() or None,
        "SINK_PORT": _int(env, "SINK_PORT", 0),
        "PERIODIC_INTERVAL": _float(env, "PERIODIC_INTERVAL", 15.0),
        # The delivery engine (newsletter/delivery/): rows per batch, retries of a recipient
        # after 4xx replies or broken connections (backoff doubling from SEND_RETRY_DELAY
        # seconds), consecutive failures that pause an issue, and the sweep's time-outs: a
        # batch renews its claimed rows every sixth of SEND_CLAIM_TIMEOUT (delivery/heartbeat.py),
        # so only a dead worker's rows stay unrenewed that long.
        "SEND_BATCH_SIZE": _int(env, "SEND_BATCH_SIZE", 500),
        "SEND_MAX_ATTEMPTS": _int(env, "SEND_MAX_ATTEMPTS", 5),
        "SEND_RETRY_DELAY": _float(env, "SEND_RETRY_DELAY", 60.0),
        "SEND_PAUSE_AFTER_FAILURES": _int(env, "SEND_PAUSE_AFTER_FAILURES", 10),
        "SEND_STALL_SECONDS": _seconds(env, "SEND_STALL_SECONDS", 60.0),
        "SEND_CLAIM_TIMEOUT": _seconds(env, "SEND_CLAIM_TIMEOUT", 30.0),
        # Webhooks out (newsletter/webhooks/): deliveries per actor message, retries with a
        # delay doubling from WEBHOOK_RETRY_DELAY seconds (at most WEBHOOK_MAX_DELAY) for
        # WEBHOOK_RETRY_HOURS, an endpoint failing every attempt for WEBHOOK_DISABLE_AFTER_HOURS
        # is disabled; the HTTP time-out of one request.
        "WEBHOOK_BATCH_SIZE": _positive_int(env, "WEBHOOK_BATCH_SIZE", 200),
        "WEBHOOK_RETRY_DELAY": _seconds(env, "WEBHOOK_RETRY_DELAY", 30.0),
        "WEBHOOK_MAX_DELAY": _seconds(env, "WEBHOOK_MAX_DELAY", 3 * 3600.0),
        "WEBHOOK_RETRY_HOURS": _positive_number(env, "WEBHOOK_RETRY_HOURS", 24),
        "WEBHOOK_DISABLE_AFTER_HOURS": _positive_number(env, "WEBHOOK_DISABLE_AFTER_HOURS", 24),
        "WEBHOOK_TIMEOUT": _seconds(env, "WEBHOOK_TIMEOUT", 10.0),
        "PROXY_COUNT": _int(env, "PROXY_COUNT", 0),
        # Record IP address and user agent with consent events; blanked after the period.
        "CONSENT_RECORD_REQUEST_DETAILS": _bool(env, "CONSENT_RECORD_IP", True),
        "CONSENT_DETAILS_RETENTION_DAYS": _int(env, "CONSENT_RETENTION_DAYS", 730),
        "PRIVACY_NOTICE_FILE": env.get("PRIVACY_NOTICE_FILE", "").strip() or None,
        "ACCESSIBILITY_STATEMENT_FILE": env.get("ACCESSIBILITY_STATEMENT_FILE", "").strip() or None,
        # What an import file may hold, counted as its bytes come out (imports/sources.py).
        "IMPORT_MAX_FILE_MB": _positive_int(env, "IMPORT_MAX_FILE_MB", 2048),
        "IMPORT_MAX_MEMBER_MB": _positive_int(env, "IMPORT_MAX_MEMBER_MB", 1024),
        "IMPORT_MAX_RATIO": _positive_int(env, "IMPORT_MAX_RATIO", 100),
        "IMPORT_MAX_ZIP_FILES": _positive_int(env, "IMPORT_MAX_ZIP_FILES", 50),
        "IMPORT_MAX_LINE_KB": _positive_int(env, "IMPORT_MAX_LINE_KB", 1024),
        "IMPORT_MAX_SKIPPED_LINES": _positive_int(env, "IMPORT_MAX_SKIPPED_LINES", 1000),
        "IMPORT_MAX_SKIPPED_KB": _positive_int(env, "IMPORT_MAX_SKIPPED_KB", 64),
        # The reference routes of bench/signup.py; never on in a normal run.
        "BENCH_ROUTES": _bool(env, "NEWSLETTER_BENCH", False),
        # A signed-in session ends after this long without a request, and this long after
        # signing in whatever it does (newsletter/web/auth/session.py).
        "SESSION_IDLE_MINUTES": _positive_int(env, "SESSION_IDLE_MINUTES", 60),
        "SESSION_MAX_HOURS": _positive_int(env, "SESSION_MAX_HOURS", 12),
        # Behind a shared address (a NAT, or the benchmark's loopback) one IP is many people.
        **_rate(env, "SIGNUP_RATE_PER_IP"),
        **_rate(env, "TEST_SEND_RATE_PER_ACCOUNT"),
        **_rate(env, "API_RATE_PER_TOKEN"),
    }


def normalise_database_url(url: str) -> str:
    """`postgresql://` means psycopg 3, as `postgresql+psycopg://` does."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def static_defaults() -> dict[str, object]:
    """Settings that do not come from the environment."""
    return {
        # hide_parameters: no bound value in SQLAlchemy's errors or statement log (see logs.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_PER_IP": "20 per minute",
        "LOGIN_RATE_PER_ACCOUNT": "5 per minute",
        "SIGNUP_RATE_PER_IP": "10 per minute;50 per hour",
        "SIGNUP_RATE_PER_ADDRESS": "5 per hour",
        "SESSION_IDLE_MINUTES": 60,
        "SESSION_MAX_HOURS": 12,
        "TEST_SEND_RATE_PER_ACCOUNT": "20 per hour;100 per day",
        "API_RATE_PER_TOKEN": "120 per minute;5000 per hour",
        "WORKER_THREADS": 4,
    }
