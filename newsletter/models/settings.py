"""The organisation's identity as the admins set it on /admin/settings (one row)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.models.base import Model, UTCDateTime, utcnow


class OrganisationSettings(Model):
    """The one row (id 1) of settings kept in the database; "" means not set.

    The environment wins over each of them (newsletter.config.apply_stored_identity);
    `version` goes up on every save, so each process sees a change when it next looks.
    """

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_name: Mapped[str] = mapped_column(sa.String(200), default="")
    postal_address: Mapped[str] = mapped_column(sa.String(500), default="")
    from_name: Mapped[str] = mapped_column(sa.String(200), default="")
    from_address: Mapped[str] = mapped_column(sa.String(320), default="")
    site_title: Mapped[str] = mapped_column(sa.String(200), default="")
    # The embeddable sign-up form (POST /subscribe/embed): the sites it may be posted from
    # ("https://example.org", one per line) and the thank-you pages it may lead to (full URLs).
    embed_origins: Mapped[str] = mapped_column(sa.Text, default="")
    embed_thanks_urls: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
