"""Settings stored in the database: the suppression key and the first-run setup token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import Account, AppSetting

SUPPRESSION_KEY = "suppression_key"
SETUP_TOKEN_HASH = "setup_token_sha256"
_STORED_KEY_CACHE = "newsletter.stored_suppression_key"


def get_setting(key: str) -> str | None:
    row = db.session.get(AppSetting, key)
    return row.value if row is not None else None


def set_setting(key: str, value: str) -> None:
    row = db.session.get(AppSetting, key)
    if row is None:
        db.session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    db.session.commit()


def suppression_key() -> bytes:
    """SUPPRESSION_KEY from the environment, else the one generated once into the database.

    It lives apart from SECRET_KEY so that rotating SECRET_KEY never forgets a suppression.
    """
    configured = current_app.config.get("SUPPRESSION_KEY")
    if configured:
        return configured.encode()
    # The stored key never changes once written, so each process reads it once, not on
    # every sign-up (it would otherwise be a query per hash).
    cached = current_app.extensions.get(_STORED_KEY_CACHE)
    if cached is None:
        cached = current_app.extensions[_STORED_KEY_CACHE] = _stored_suppression_key()
    return cached


def _stored_suppression_key() -> bytes:
    stored = get_setting(SUPPRESSION_KEY)
    if stored is None:
        try:
            db.session.add(AppSetting(key=SUPPRESSION_KEY, value=secrets.token_urlsafe(48)))
            db.session.commit()
        except IntegrityError:
            # Another process generated it first; use theirs.
            db.session.rollback()
        stored = get_setting(SUPPRESSION_KEY)
    return stored.encode()


def has_accounts() -> bool:
    return db.session.scalar(select(Account.id).limit(1)) is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_setup_token() -> str | None:
    """A new one-time token that creates the first admin, or None if an account exists."""
    if has_accounts():
        return None
    token = secrets.token_urlsafe(32)
    set_setting(SETUP_TOKEN_HASH, _digest(token))
    return token


def setup_token_is_valid(token: str) -> bool:
    """True while no account exists and `token` is the one last issued."""
    stored = get_setting(SETUP_TOKEN_HASH)
    if stored is None or has_accounts():
        return False
    return hmac.compare_digest(stored, _digest(token))


def consume_setup_token() -> None:
    """Forget the setup token once the first admin exists."""
    row = db.session.get(AppSetting, SETUP_TOKEN_HASH)
    if row is not None:
        db.session.delete(row)
        db.session.commit()
