"""API tokens and the responses kept for idempotent retries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.models.accounts import Account
from newsletter.models.base import Model, UTCDateTime, utcnow


class ApiToken(Model):
    """A bearer token acting for one account, within its scopes, until it expires or is revoked.

    Only the SHA-256 of the secret is stored: the token is shown once, when it is made.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    # The SHA-256 (hex) of the whole token; the lookup key of every API request.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Space-separated scope names (newsletter.api_tokens.SCOPES), in that order.
    scopes: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.scopes}>"


class ApiIdempotencyKey(Model):
    """The response to a POST that carried an `Idempotency-Key`, kept a day for its retries."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (
        sa.UniqueConstraint("token_id", "key"),
        sa.Index("ix_api_idempotency_key_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    # SHA-256 of the method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
