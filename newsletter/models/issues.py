"""Newsletter issues and their delivery ledger (invariant 2 in docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.models.accounts import Account
from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import DeliveryStatus, IssueKind, IssueStatus, enum_column
from newsletter.models.lists import MailingList


class Issue(Model):
    __tablename__ = "issue"
    __table_args__ = (sa.Index("ix_issue_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A reconfirmation carries the confirmation request to the people an import (`--consent
    # reconfirm`) left pending: the delivery engine sends it like any issue, nobody composes it.
    kind: Mapped[IssueKind] = mapped_column(
        enum_column(IssueKind), default=IssueKind.ISSUE, server_default=IssueKind.ISSUE.value
    )
    # The import whose people it asks; unique: one reconfirmation per import, however many
    # clicks (NULL for a newsletter).
    import_job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("import_job.id", ondelete="SET NULL"), unique=True
    )
    # A welcome message's list; unique: one welcome message per list (NULL for any other kind).
    # Its status is its switch: `sending` while on (each person confirmed since `welcome_since`
    # gets one ledger row), `paused` while off, `draft` until first turned on.
    welcome_list_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mailing_list.id", ondelete="CASCADE"), unique=True
    )
    # When it was last turned on: only confirmations recorded since then are welcomed.
    welcome_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How far the welcome sweep has read the consent events (delivery/welcome.py).
    welcome_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subject: Mapped[str] = mapped_column(sa.String(255))
    body_markdown: Mapped[str] = mapped_column(sa.Text, default="")
    # The line mail clients show after the subject; never shown in the message itself.
    preheader: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    # Which house layout of templates/email/ wraps the body (LAYOUTS in compose/render.py).
    layout: Mapped[str] = mapped_column(sa.String(32), default="default", server_default="default")
    # When a scheduled issue starts (UTC); the scheduler job starts it once this has passed.
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[IssueStatus] = mapped_column(enum_column(IssueStatus), default=IssueStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("account.id", ondelete="SET NULL")
    )
    # The account that sent it, or scheduled it (the scheduler starts it for them); NULL when
    # the CLI or the system did, or once that account is removed.
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # When the ledger was written, and when the last row became final.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When batches were last handed to the queue (NULL: recorded but not yet enqueued, as
    # `issues send` does without REDIS_URL) and when a batch last moved; the sweep compares both.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the issue paused itself (the relay kept failing), shown in the admin.
    pause_reason: Mapped[str | None] = mapped_column(sa.String(500))

    issue_lists: Mapped[list[IssueList]] = relationship(
        cascade="all, delete-orphan", order_by="IssueList.position"
    )
    sent_by: Mapped[Account | None] = relationship(foreign_keys=[sent_by_id])

    @property
    def lists(self) -> list[MailingList]:
        """The issue's lists in the order chosen; the first is the primary list."""
        return [link.mailing_list for link in self.issue_lists]

    @property
    def primary_list(self) -> MailingList:
        return self.issue_lists[0].mailing_list

    def __repr__(self) -> str:
        return f"<Issue {self.id} {self.status}>"


class IssueList(Model):
    """One list an issue goes to; position 0 is the primary list (its List-Id)."""

    __tablename__ = "issue_list"

    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issue.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mailing_list.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)

    mailing_list: Mapped[MailingList] = relationship()


class Delivery(Model):
    """One recipient of one issue: written before the message is sent, updated after."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("issue_id", "subscriber_id"),
        # Claiming a batch (issue, id range, queued), counting an issue's rows by status, and
        # the sweep's search for rows a dead worker left in `sending`. One index only: every
        # message updates its row twice, and each index on a changed column costs an entry.
        sa.Index("ix_delivery_issue_status_id", "issue_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issue.id", ondelete="CASCADE"))
    # Erasure keeps the row (the issue's counts) but not the link to the person.
    subscriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    # The address as it was when the ledger was written: the one mailed.
    email: Mapped[str] = mapped_column(sa.String(320))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # A retried row waits until then; NULL means at once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Renewed by the claiming batch's heartbeat while it works (delivery/heartbeat.py).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The batch that claimed the row last: only its outcomes move the row.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Delivery {self.id} {self.status}>"
