"""The suppression list: who must not be mailed at all, and every reason given."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import SuppressionReason, enum_column


class SuppressionEntry(Model):
    __tablename__ = "suppression_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 of the address's canonical key under SUPPRESSION_KEY: no address is stored.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reasons: Mapped[list[SuppressionEntryReason]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="SuppressionEntryReason.id"
    )

    @property
    def active_reasons(self) -> list[SuppressionReason]:
        return [r.reason for r in self.reasons if r.standing]


class SuppressionEntryReason(Model):
    """One reason an entry was given; lifting keeps the row and stamps lifted_at."""

    __tablename__ = "suppression_entry_reason"
    __table_args__ = (sa.Index("ix_suppression_entry_reason_entry", "entry_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("suppression_entry.id", ondelete="CASCADE"))
    reason: Mapped[SuppressionReason] = mapped_column(enum_column(SuppressionReason))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(sa.String(100))

    entry: Mapped[SuppressionEntry] = relationship(back_populates="reasons")

    @property
    def standing(self) -> bool:
        """A reason stands until it is lifted (as SQL: suppression.STANDING)."""
        return self.lifted_at is None
