"""People and their subscriptions."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import ConsentMethod, OptInLevel, SubscriptionStatus, enum_column
from newsletter.models.lists import MailingList

if TYPE_CHECKING:  # consent.py maps its events on to Subscriber, so it imports this module
    from newsletter.models.consent import ConsentEvent


def new_unsubscribe_token() -> str:
    """An opaque 192-bit token for unsubscribe links that must work for ever."""
    return secrets.token_urlsafe(24)


class Subscriber(Model):
    __tablename__ = "subscriber"
    # On PostgreSQL, migration 0005 adds a GIN trigram index on the admin's search text
    # (newsletter/subscriptions/audience.py); it lives in the migration only
    # (schema.DATABASE_ONLY_INDEXES).

    id: Mapped[int] = mapped_column(primary_key=True)
    # email-validator's normalised form: what we store and mail.
    email: Mapped[str] = mapped_column(sa.String(320))
    # The normalised form casefolded: the key for deduplication, suppression and erasure.
    email_key: Mapped[str] = mapped_column(sa.String(320), unique=True)
    # The suppression list's HMAC of email_key (newsletter/suppression/__init__.py), written
    # with the person: it joins a person to their suppression entry in SQL, so the ledger,
    # the send's count and the subscribers page's "suppressed" filter are set-based queries.
    # The address never changes and the key is never rotated, so it is never rewritten.
    # Indexed with the id (__table_args__).
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    # True while a suppression reason stands against key_hash: for the subscribers page's
    # "suppressed" filter and count only (display). The send path never reads it; it tests
    # the suppression list itself (suppression.suppressed_sql). Kept in step by
    # suppression.sync_flags wherever reasons are given or lifted, and computed in the INSERT
    # of a sign-up (subscriptions/new_person.py); migration 0021.
    suppressed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    unsubscribe_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_unsubscribe_token
    )
    # How the person first reached us (form, import, admin): form sign-ups never confirmed
    # are purged after 30 days, imported people waiting to reconfirm are not.
    created_via: Mapped[ConsentMethod] = mapped_column(
        enum_column(ConsentMethod), default=ConsentMethod.ADMIN
    )
    # When the last confirmation mail went, and how many went since the address last had a
    # day without one: the per-address cap (newsletter/subscriptions/confirmation.py).
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmation_mails: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # From the suppression list to its people (the "suppressed" filter, the send's count):
        # with the id in the index, each of the suppressed is found without reading the
        # person's row, a page of the heap each at a million people (migration 0020).
        sa.Index("ix_subscriber_key_hash_id", "key_hash", "id"),
        # The suppressed people, few beside everyone, by id and by address: the "suppressed"
        # filter walks them in each of its orders and joins each to the list's subscriptions,
        # and its count reads the ids alone (migration 0021). SQLite's condition is spelled
        # as SQLAlchemy writes the filter there, `suppressed = 1`, so its planner matches it.
        sa.Index(
            "ix_subscriber_suppressed_id",
            "id",
            postgresql_where=sa.text("suppressed"),
            sqlite_where=sa.text("suppressed = 1"),
        ),
        sa.Index(
            "ix_subscriber_suppressed_email_key",
            "email_key",
            postgresql_where=sa.text("suppressed"),
            sqlite_where=sa.text("suppressed = 1"),
        ),
    )

    # In the order the lists were made, so every page and mail names them the same way on
    # both databases (PostgreSQL returns rows in no particular order).
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="Subscription.list_id"
    )
    # Oldest first; the database deletes them with the person (ON DELETE CASCADE).
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ConsentEvent.id",
    )

    def __repr__(self) -> str:
        return f"<Subscriber {self.id}>"


class Subscription(Model):
    __tablename__ = "subscription"
    __table_args__ = (
        sa.UniqueConstraint("subscriber_id", "list_id"),
        # The purge of stale form sign-ups looks for old pending rows.
        sa.Index("ix_subscription_status_created", "status", "created_at"),
        # The ledger's INSERT ... SELECT walks confirmed subscriptions of a list by subscriber.
        sa.Index("ix_subscription_list_status_subscriber", "list_id", "status", "subscriber_id"),
        # The subscribers page: a list's people, or everyone with a status, in subscriber order.
        sa.Index("ix_subscription_list_subscriber", "list_id", "subscriber_id"),
        sa.Index("ix_subscription_status_subscriber", "status", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("mailing_list.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus))
    opt_in_level: Mapped[OptInLevel] = mapped_column(
        enum_column(OptInLevel), default=OptInLevel.UNKNOWN
    )
    requested_via: Mapped[ConsentMethod] = mapped_column(
        enum_column(ConsentMethod), default=ConsentMethod.ADMIN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a confirmation mail last named this list: at most one a day per list.
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()

    def __repr__(self) -> str:
        return f"<Subscription {self.subscriber_id}:{self.list_id} {self.status}>"
