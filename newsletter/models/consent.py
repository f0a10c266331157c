"""Consent events: the append-only record of how each person agreed or left."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import ConsentAction, ConsentMethod, OptInLevel, enum_column
from newsletter.models.subscribers import Subscriber


class ConsentEvent(Model):
    __tablename__ = "consent_event"
    __table_args__ = (
        sa.Index("ix_consent_event_subscriber_occurred", "subscriber_id", "occurred_at"),
        # The retention job blanks IP addresses and user agents older than a cut-off.
        sa.Index("ix_consent_event_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Erasure deletes a person's events with them (invariant 3 in docs/architecture.md); nothing
    # else deletes events.
    subscriber_id: Mapped[int] = mapped_column(sa.ForeignKey("subscriber.id", ondelete="CASCADE"))
    list_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mailing_list.id", ondelete="SET NULL")
    )
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction))
    method: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod))
    # When it happened (an imported OPTIN_TIME may be years old) and when we wrote it down.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    opt_in_level: Mapped[OptInLevel | None] = mapped_column(enum_column(OptInLevel))
    # Where it happened: a page path ("/subscribe"), a command, or an import file's name.
    source: Mapped[str | None] = mapped_column(sa.String(200))
    # The exact wording the person saw, by version (see ConsentWording).
    wording_version: Mapped[str | None] = mapped_column(sa.String(64))
    # The system an imported event came from ("mailchimp", "listmonk", "mailman", "csv").
    source_system: Mapped[str | None] = mapped_column(sa.String(64))
    import_job_id: Mapped[int | None] = mapped_column(sa.Integer)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id", ondelete="SET NULL"))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    subscriber: Mapped[Subscriber] = relationship(back_populates="consent_events")

    def __repr__(self) -> str:
        return f"<ConsentEvent {self.id} {self.action}/{self.method}>"


class ConsentWording(Model):
    """Each distinct text a person was shown when agreeing, keyed by its SHA-256."""

    __tablename__ = "consent_wording"

    version: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmbedWording(Model):
    """A wording shown by a list's embeddable sign-up form (its snippet), as the admin page gave it.

    A post to /subscribe/embed names its wording by version; only a version issued here for
    that list is recorded, so a forged post cannot choose what we say a person saw.
    """

    __tablename__ = "embed_wording"

    version: Mapped[str] = mapped_column(
        sa.ForeignKey("consent_wording.version", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to rewrite a consent event."""


# Only the retention job may touch an event, and only to blank its IP address and user agent.
_REDACTABLE = {"ip_address", "user_agent"}


@event.listens_for(ConsentEvent, "before_update")
def _refuse_rewrites(mapper, connection, target: ConsentEvent) -> None:
    state = sa.inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if changed - _REDACTABLE:
        raise AppendOnlyError(f"consent events are append-only (tried to change {changed})")
