"""Privacy by default: purge unconfirmed form sign-ups and blank old request details."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, select, update

from newsletter.extensions import db
from newsletter.models import ConsentEvent, ConsentMethod, Subscriber, Subscription
from newsletter.models import SubscriptionStatus as Status
from newsletter.models.base import utcnow

STALE_SIGNUP_AGE = timedelta(days=30)


def purge_stale_signups(now: datetime | None = None) -> int:
    """Delete form sign-ups pending for 30 days, and people left with nothing; returns count.

    Imported people waiting to reconfirm are kept: their pending rows were not made by the form.
    """
    cutoff = (now or utcnow()) - STALE_SIGNUP_AGE
    removed = db.session.execute(
        delete(Subscription).where(
            Subscription.status == Status.PENDING,
            Subscription.requested_via == ConsentMethod.FORM,
            Subscription.created_at < cutoff,
        )
    ).rowcount
    orphans = select(Subscriber.id).where(
        Subscriber.created_via == ConsentMethod.FORM,
        Subscriber.created_at < cutoff,
        ~exists().where(Subscription.subscriber_id == Subscriber.id),
    )
    ids = list(db.session.scalars(orphans))
    if ids:
        db.session.execute(delete(ConsentEvent).where(ConsentEvent.subscriber_id.in_(ids)))
        db.session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
    db.session.commit()
    return removed


def blank_old_request_details(now: datetime | None = None) -> int:
    """Blank IP addresses and user agents of consent events older than the retention period.

    The events themselves stay: they are the evidence. Returns the number of events blanked.
    """
    days = int(current_app.config.get("CONSENT_DETAILS_RETENTION_DAYS", 730))
    cutoff = (now or utcnow()) - timedelta(days=days)
    blanked = db.session.execute(
        update(ConsentEvent)
        .where(
            ConsentEvent.recorded_at < cutoff,
            (ConsentEvent.ip_address.is_not(None)) | (ConsentEvent.user_agent.is_not(None)),
        )
        .values(ip_address=None, user_agent=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return blanked
