"""Configuration from the environment and ./.env, and key rotation."""

import os
import stat

import pytest

from newsletter import create_app
from newsletter.config import load_config, mask_url, normalise_database_url
from newsletter.errors import ConfigError
from newsletter.tokens import ExpiredTokenError, InvalidTokenError, make_token, read_token
from tests.support.configuration import base_config


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_embedded_mode_generates_a_private_secret_key_once(empty_cwd):
    """Without DATABASE_URL the key is created in ./instance/, owner-only, and reused."""
    first = load_config({})
    key_file = empty_cwd / "instance" / "secret_key"
    assert first["EMBEDDED"] is True
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_config({})["SECRET_KEY"] == first["SECRET_KEY"] == key_file.read_text().strip()
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{empty_cwd / 'instance/newsletter.db'}"


def test_database_url_without_secret_key_is_refused(empty_cwd):
    """Production mode must be given its SECRET_KEY; nothing is generated."""
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        load_config({"DATABASE_URL": "postgresql://db.example/news"})
    assert not (empty_cwd / "instance").exists()


def test_dotenv_file_is_read_and_the_environment_wins(empty_cwd):
    """Values come from ./.env unless the process environment sets them."""
    (empty_cwd / ".env").write_text("ORG_NAME=Coalition\nSEND_RATE=40\nMAIL_FROM=a@b.org\n")
    config = load_config({"SEND_RATE": "5"})
    assert config["ORG_NAME"] == "Coalition"
    assert config["SEND_RATE"] == 5
    assert config["MAIL_FROM"] == "a@b.org"


def test_defaults_for_mail_identity(empty_cwd):
    """MAIL_FROM_SYSTEM takes MAIL_FROM with a noreply local part; BOUNCE_DOMAIN its host."""
    config = load_config({"MAIL_FROM": "Local Digital <news@example.org>"})
    assert config["MAIL_FROM_SYSTEM"] == "Local Digital <noreply@example.org>"
    assert config["BOUNCE_DOMAIN"] == "example.org"


@pytest.mark.parametrize("name", ["MAIL_FROM", "MAIL_FROM_SYSTEM"])
def test_a_sender_with_an_international_local_part_is_refused_at_start(empty_cwd, name):
    """A From address no relay without SMTPUTF8 could send from stops the app with a sentence."""
    with pytest.raises(ConfigError, match=f"{name} must have only ASCII letters before the @"):
        load_config({name: "Zoë Team <zoë@example.org>"})


def test_a_sender_at_an_international_domain_is_accepted(empty_cwd):
    """Only the part before the @ must be ASCII: the domain goes out in its ASCII form."""
    config = load_config({"MAIL_FROM": "Bücher <news@bücher.example>"})
    assert config["MAIL_FROM_SYSTEM"] == "Bücher <noreply@bücher.example>"


def test_a_sender_without_an_address_is_refused(empty_cwd):
    """MAIL_FROM without an @ is a clear error, not a failure of every message later."""
    with pytest.raises(ConfigError, match="MAIL_FROM must be an address"):
        load_config({"MAIL_FROM": "Newsletter"})


def test_a_malformed_number_is_a_clear_error(empty_cwd):
    """A bad SEND_RATE names the variable."""
    with pytest.raises(ConfigError, match="SEND_RATE must be a whole number"):
        load_config({"SEND_RATE": "fast"})


def test_the_claim_timeout_must_be_a_positive_number_of_seconds(empty_cwd):
    """SEND_CLAIM_TIMEOUT of 0 would renew claims in a busy loop: refused with its name."""
    assert load_config({})["SEND_CLAIM_TIMEOUT"] == 30.0
    with pytest.raises(ConfigError, match="SEND_CLAIM_TIMEOUT must be a number of seconds"):
        load_config({"SEND_CLAIM_TIMEOUT": "0"})


def test_uploads_are_kept_24_hours_unless_the_setting_says_otherwise(empty_cwd):
    """IMPORT_UPLOAD_RETENTION_HOURS: 24 by default, any positive number, else a clear error."""
    assert load_config({})["IMPORT_UPLOAD_RETENTION_HOURS"] == 24
    assert (
        load_config({"IMPORT_UPLOAD_RETENTION_HOURS": "1.5"})["IMPORT_UPLOAD_RETENTION_HOURS"]
        == 1.5
    )
    with pytest.raises(ConfigError, match="IMPORT_UPLOAD_RETENTION_HOURS must be a number"):
        load_config({"IMPORT_UPLOAD_RETENTION_HOURS": "0"})


def test_postgresql_urls_mean_psycopg3():
    """postgresql:// and postgresql+psycopg:// are the same driver."""
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_masked_url_hides_only_the_password():
    """Printed URLs keep user, host and database but not the password."""
    masked = mask_url("postgresql+psycopg://news:s3cret@db.internal:5432/news")
    assert masked == "postgresql+psycopg://news:***@db.internal:5432/news"


def test_https_base_url_makes_cookies_secure(migrated_database):
    """The session cookie is Secure exactly when BASE_URL is https."""
    secure = create_app(base_config(migrated_database, BASE_URL="https://news.example.org"))
    plain = create_app(base_config(migrated_database, BASE_URL="http://127.0.0.1:5000"))
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    assert secure.config["SESSION_COOKIE_HTTPONLY"] is True
    assert secure.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_tokens_signed_with_a_retired_key_still_verify(app):
    """After rotation, SECRET_KEY_FALLBACKS keeps links already sent working."""
    token = make_token("confirm", {"subscriber": 7})
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-brand-new-key"
    assert read_token("confirm", token, max_age_seconds=60) == {"subscriber": 7}
    app.config["SECRET_KEY_FALLBACKS"] = []
    with pytest.raises(InvalidTokenError):
        read_token("confirm", token, max_age_seconds=60)


def test_tokens_are_bound_to_their_purpose_and_age(app):
    """A confirm token is no preferences token, and an expired one says so."""
    token = make_token("confirm", 1)
    with pytest.raises(InvalidTokenError):
        read_token("preferences", token, max_age_seconds=60)
    with pytest.raises(ExpiredTokenError):
        read_token("confirm", token, max_age_seconds=-1)


def test_sessions_signed_with_a_retired_key_still_load(migrated_database):
    """Flask's session cookie honours SECRET_KEY_FALLBACKS too."""
    old = create_app(base_config(migrated_database, SECRET_KEY="old-key"))
    cookie = old.session_interface.get_signing_serializer(old).dumps({"x": 1})
    new = create_app(
        base_config(migrated_database, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    )
    assert new.session_interface.get_signing_serializer(new).loads(cookie) == {"x": 1}


def test_app_factory_builds_nothing_at_import_time():
    """Importing the package creates no app and touches no folder."""
    before = set(os.listdir("."))
    # Imported here, not at the top: the test is about what importing them does.
    import newsletter  # noqa: F401
    import workers  # noqa: F401

    assert set(os.listdir(".")) == before


def test_signup_rate_per_ip_may_come_from_the_environment(empty_cwd):
    """SIGNUP_RATE_PER_IP overrides the default only when set, and must be a valid limit."""
    base = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "k"}
    assert "SIGNUP_RATE_PER_IP" not in load_config(base)
    config = load_config({**base, "SIGNUP_RATE_PER_IP": "100 per minute"})
    assert config["SIGNUP_RATE_PER_IP"] == "100 per minute"
    with pytest.raises(ConfigError, match="SIGNUP_RATE_PER_IP"):
        load_config({**base, "SIGNUP_RATE_PER_IP": "plenty"})


def test_the_import_limits_have_defaults_and_must_be_above_zero(empty_cwd):
    """The limits a hostile upload meets; a real million-row export is far inside them."""
    from newsletter.imports.limits import Limits

    config = load_config({"IMPORT_MAX_LINE_KB": "64"})
    limits = Limits.from_config(config)
    assert (limits.file_bytes, limits.member_bytes) == (2048 << 20, 1024 << 20)
    assert (limits.ratio, limits.zip_files, limits.line_chars) == (100, 50, 64 << 10)
    assert (limits.skipped_lines, limits.skipped_chars) == (1000, 64 << 10)
    with pytest.raises(ConfigError, match="IMPORT_MAX_RATIO must be a whole number above 0"):
        load_config({"IMPORT_MAX_RATIO": "0"})


def test_session_times_default_and_come_from_the_environment(empty_cwd):
    """An hour idle and twelve hours in all by default; each may be set."""
    defaults = load_config({})
    assert (defaults["SESSION_IDLE_MINUTES"], defaults["SESSION_MAX_HOURS"]) == (60, 12)
    chosen = load_config({"SESSION_IDLE_MINUTES": "15", "SESSION_MAX_HOURS": "8"})
    assert (chosen["SESSION_IDLE_MINUTES"], chosen["SESSION_MAX_HOURS"]) == (15, 8)


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"])
def test_session_times_must_be_above_zero(empty_cwd, name):
    """A session that ends at once would lock everyone out: refused at start."""
    with pytest.raises(ConfigError, match=f"{name} must be a whole number above 0"):
        load_config({name: "0"})


def test_a_stored_from_moves_what_follows_mail_from_unless_the_environment_sets_it(empty_cwd):
    """apply_stored_identity: stored values under the environment, derived names follow."""
    from newsletter.config import apply_stored_identity

    base = load_config({"DATABASE_URL": "sqlite://", "SECRET_KEY": "k", "BOUNCE_DOMAIN": "b.org"})
    merged = apply_stored_identity(base, {"MAIL_FROM": "News <news@new.example>"})
    assert merged["MAIL_FROM_SYSTEM"] == "News <noreply@new.example>"
    assert merged["BOUNCE_DOMAIN"] == "b.org"
    assert merged["BOUNCE_COMPLAINTS_ADDRESS"] == "complaints@b.org"
    env = load_config({"DATABASE_URL": "sqlite://", "SECRET_KEY": "k", "ORG_NAME": "Env"})
    assert apply_stored_identity(env, {"ORG_NAME": "Stored"})["ORG_NAME"] == "Env"
    assert apply_stored_identity(env, {"ORG_ADDRESS": "1 Road"})["ORG_ADDRESS"] == "1 Road"


def test_site_title_never_reads_newsletter_newsletter():
    from newsletter.config import site_title

    assert site_title({"ORG_NAME": "Newsletter"}) == "Newsletter"
    assert site_title({"ORG_NAME": "Coalition"}) == "Coalition newsletter"
    assert site_title({"ORG_NAME": "Coalition", "SITE_TITLE": "Coalition updates"}) == (
        "Coalition updates"
    )


def test_newsletter_instance_names_the_instance_folder(empty_cwd):
    config = load_config({"NEWSLETTER_INSTANCE": "elsewhere"})
    assert config["INSTANCE_DIR"] == str(empty_cwd / "elsewhere")
    assert config["INSTANCE_NEW"] is True
