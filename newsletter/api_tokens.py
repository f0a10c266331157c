"""API tokens: made for an account with scopes and an expiry, shown once, stored hashed.

A token is `nl_` and 32 random bytes (URL-safe base64): only its SHA-256 is kept, so a leaked
database holds no usable token, and a high-entropy secret needs no slow hash. Functions that
change a token commit with their audit record.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from newsletter.audit import Actor, record
from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.models import Account, ApiToken
from newsletter.models.base import get_by_id, utcnow

# What a token may be given; the account's role still bounds every call (docs/api.md).
SCOPES = ("read", "subscribers", "send", "webhooks")
TOKEN_PREFIX = "nl_"
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3650
# last_used_at is written at most this often per token, so reads stay reads.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made: the row, and the secret shown this once."""

    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def check_scopes(scopes: list[str] | tuple[str, ...]) -> str:
    """The scopes as stored (known names, in SCOPES order), or ValidationError."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError(f"Scope must be one of {', '.join(SCOPES)}")
    if not scopes:
        raise ValidationError("Choose at least one scope")
    return " ".join(scope for scope in SCOPES if scope in scopes)


def check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"Name must be at most {MAX_NAME_LENGTH} characters")
    return name


def create_token(
    account: Account,
    scopes: list[str] | tuple[str, ...],
    *,
    name: str = "",
    expires_days: int | None = None,
    actor: Actor = None,
) -> NewToken:
    """Make a token for `account`; the secret is in the result and nowhere else."""
    stored_scopes = check_scopes(scopes)
    clean_name = check_name(name)
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days")
    if account.disabled:
        raise ValidationError("That account is switched off")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        account_id=account.id,
        name=clean_name,
        token_hash=token_hash(secret),
        scopes=stored_scopes,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    db.session.add(token)
    db.session.flush()
    record(
        "api_token.created",
        target=f"api_token:{token.id}",
        detail={"account": account.id, "scopes": stored_scopes, "name": clean_name},
        actor=actor,
    )
    db.session.commit()
    return NewToken(token, secret)


def tokens_of(account: Account) -> list[ApiToken]:
    """The account's tokens, newest first, revoked ones included."""
    query = select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id.desc())
    return list(db.session.scalars(query))


def get_token(token_id: int) -> ApiToken:
    token = get_by_id(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no API token with the id {token_id}")
    return token


def revoke_token(token: ApiToken, actor: Actor = None) -> bool:
    """Revoke the token for good; False if it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    record("api_token.revoked", target=f"api_token:{token.id}", actor=actor)
    db.session.commit()
    return True


def token_state(token: ApiToken) -> str:
    """ "active", "expired" or "revoked", as the admin and the command line say it."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "expired"
    return "active"


# Every API request runs this: the account comes in the same SELECT (an inner join: every
# token has one) rather than by a lazy load, which was a second round trip to the database
# and a second ORM load on each call. Built once, so SQLAlchemy finds its compiled form at once.
_BY_HASH = (
    select(ApiToken)
    .options(joinedload(ApiToken.account, innerjoin=True))
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)


def authenticate(secret: str) -> ApiToken | None:
    """The live token this secret is, of an account still switched on, or None.

    Notes the time of use (at most once a minute); the caller's transaction commits it.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(_BY_HASH, {"token_hash": token_hash(secret)})
    if token is None or token_state(token) != "active" or token.account.disabled:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        token.last_used_at = now
        db.session.commit()
    return token
