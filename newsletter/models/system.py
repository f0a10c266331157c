"""Rows the system keeps for itself: settings, the periodic runner's lease, the outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.models.base import Model, UTCDateTime, utcnow


class AppSetting(Model):
    """Small key/value settings that live with the data (the suppression key, the setup token)."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Lease(Model):
    """A named lock held until expires_at; the periodic runner's leader holds 'periodic'."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Model):
    """A message captured by the built-in mail sink (embedded mode, no SMTP_URL)."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    mail_from: Mapped[str] = mapped_column(sa.String(320))
    recipients: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(998), default="")
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
