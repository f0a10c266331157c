"""Webhooks out: endpoints, the outbox of events and each event's delivery to each endpoint.

An event row is written in the transaction of the change it reports (newsletter/webhooks/
outbox.py); its payload holds ids and states only, never an address or a name.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import WebhookDeliveryStatus, enum_column


class WebhookEndpoint(Model):
    """A URL an admin registered, the event types it wants and its signing secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # The event types wanted, space-separated (newsletter/webhooks/events.py names them).
    event_types: Mapped[str] = mapped_column(sa.String(500))
    # Standard Webhooks form, `whsec_` and base64 of 32 random bytes. Kept as is: every
    # signature needs it (shown once, when the endpoint is made).
    secret: Mapped[str] = mapped_column(sa.String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Since when every attempt has failed (NULL after a success): the automatic disable.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def wanted(self) -> list[str]:
        return self.event_types.split()


class WebhookEvent(Model):
    """One thing that happened, as an outbox row written with the change itself."""

    __tablename__ = "webhook_event"
    __table_args__ = (sa.Index("ix_webhook_event_subscriber", "subscriber_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    # No foreign key: the event outlives an erased person (its deliveries are dropped).
    subscriber_id: Mapped[int | None] = mapped_column()
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Model):
    """One event to one endpoint: its status, attempts and when it is due again."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id"),
        # Claiming an endpoint's pending rows in event order (the scan stops at the batch size).
        sa.Index("ix_webhook_delivery_claim", "endpoint_id", "status", "event_id"),
        # Order per subscriber: the person's earliest pending event, one index probe.
        sa.Index("ix_webhook_delivery_order", "endpoint_id", "subscriber_id", "status", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_event.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    # The event's person, copied here so the order rule reads one index.
    subscriber_id: Mapped[int | None] = mapped_column()
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        enum_column(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A failed attempt after this gives the delivery up (created, resent or replayed + a day).
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # A batch holds its rows until then; a dead worker's rows are free again after it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The HTTP status of the last answer, or what went wrong (never the body: it may echo data).
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
