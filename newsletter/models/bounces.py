"""Bounces and complaints received for deliveries, and issue counts kept after rows go."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import enum_column


class BounceKind(StrEnum):
    HARD = "hard"  # a permanent failure (5.x.x): the address is suppressed at once
    SOFT = "soft"  # a temporary failure (4.x.x): suppressed after repeats across issues
    COMPLAINT = "complaint"  # an abuse report from a feedback loop (RFC 5965)


class Bounce(Model):
    """One bounce or complaint tied to a delivery through its signed return path."""

    __tablename__ = "bounce"
    __table_args__ = (
        # The soft-bounce policy counts a person's recent bounces; the subscriber page lists them.
        sa.Index("ix_bounce_subscriber_received", "subscriber_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Erasure deletes a person's bounces with them.
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issue.id", ondelete="SET NULL"))
    # Delivery rows are folded away after the retention period; the bounce stays.
    delivery_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("delivery.id", ondelete="SET NULL")
    )
    kind: Mapped[BounceKind] = mapped_column(enum_column(BounceKind))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The enhanced status code (RFC 3463), e.g. "5.1.1", when the report gave one.
    status_code: Mapped[str] = mapped_column(sa.String(16), default="")
    # What recognised the report: "dsn", a flufl.bounce detector, or "arf".
    detector: Mapped[str] = mapped_column(sa.String(32), default="")
    # The remote server's words (about this person only); never written to a log.
    diagnostic: Mapped[str] = mapped_column(sa.String(500), default="")


class IssueDeliveryCount(Model):
    """Rows of an issue's ledger by status, kept once the rows themselves were deleted.

    Old delivery rows are folded in here and deleted (retention), as are an erased person's;
    an issue's counts are these plus its remaining rows.
    """

    __tablename__ = "issue_delivery_count"

    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
