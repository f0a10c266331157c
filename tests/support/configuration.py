"""The app's configuration for tests."""

from __future__ import annotations

from newsletter.config import load_config


def base_config(database_url: str, **overrides: object) -> dict[str, object]:
    """A test configuration; anything a test forgets points somewhere that fails loudly."""
    config = load_config(
        {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-not-for-production"}
    )
    config.update(
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
        SUPPRESSION_KEY="test-suppression-key",
        BASE_URL="http://localhost",
        SERVER_NAME="localhost",
        # Nothing listens on port 1: a test that sends mail without a sink fails at once.
        SMTP_URL="smtp://127.0.0.1:1",
        REDIS_URL=None,
        PERIODIC_INTERVAL=0.05,
    )
    config.update(overrides)
    return config
