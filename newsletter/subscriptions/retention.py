"""Privacy by default: purge unconfirmed form sign-ups and blank old request details."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Exists, delete, exists, select, update

from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    Subscriber,
    Subscription,
)
from newsletter.models import SubscriptionStatus as Status
from newsletter.models.base import changed_rows, utcnow

STALE_SIGNUP_AGE = timedelta(days=30)


def purge_stale_signups(now: datetime | None = None) -> int:
    """Let form requests lapse 30 days after they were last made; returns how many lapsed.

    A pending subscription the form made, whose latest request is over 30 days old, lapses:
    the row is deleted if the form's requests are all it ever held, and goes back to
    unsubscribed if it has a history (the person had joined and left, or was imported as a
    leaver) so that the history stays true. People the form brought who are left with no
    subscription and nothing but requests in their record are deleted with their events.
    Imported people waiting to reconfirm are kept: their pending rows were not made by the form.
    """
    cutoff = (now or utcnow()) - STALE_SIGNUP_AGE
    lapsed = list(
        db.session.execute(
            select(
                Subscription.id, _history(Subscription.subscriber_id, Subscription.list_id)
            ).where(
                Subscription.status == Status.PENDING,
                Subscription.requested_via == ConsentMethod.FORM,
                Subscription.created_at < cutoff,
                ~exists().where(
                    ConsentEvent.subscriber_id == Subscription.subscriber_id,
                    ConsentEvent.list_id == Subscription.list_id,
                    ConsentEvent.action == ConsentAction.REQUESTED,
                    ConsentEvent.recorded_at >= cutoff,
                ),
            )
        )
    )
    deleted = [row_id for row_id, has_history in lapsed if not has_history]
    reverted = [row_id for row_id, has_history in lapsed if has_history]
    if deleted:
        db.session.execute(delete(Subscription).where(Subscription.id.in_(deleted)))
    if reverted:
        db.session.execute(
            update(Subscription)
            .where(Subscription.id.in_(reverted))
            .values(status=Status.UNSUBSCRIBED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    orphans = select(Subscriber.id).where(
        Subscriber.created_via == ConsentMethod.FORM,
        Subscriber.created_at < cutoff,
        ~exists().where(Subscription.subscriber_id == Subscriber.id),
        ~_history(Subscriber.id),
    )
    ids = list(db.session.scalars(orphans))
    if ids:
        db.session.execute(delete(ConsentEvent).where(ConsentEvent.subscriber_id.in_(ids)))
        db.session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
    db.session.commit()
    return len(lapsed)


def _history(subscriber_id, list_id=None) -> Exists:
    """Whether the person (on that list, if given) has any event besides a form request."""
    event = ConsentEvent
    return exists().where(
        event.subscriber_id == subscriber_id,
        *([event.list_id == list_id] if list_id is not None else []),
        ~((event.action == ConsentAction.REQUESTED) & (event.method == ConsentMethod.FORM)),
    )


def blank_old_request_details(now: datetime | None = None) -> int:
    """Blank IP addresses and user agents of consent events older than the retention period.

    The events themselves stay: they are the evidence. Returns the number of events blanked.
    """
    days = int(current_app.config.get("CONSENT_DETAILS_RETENTION_DAYS", 730))
    cutoff = (now or utcnow()) - timedelta(days=days)
    blanked = changed_rows(
        db.session.execute(
            update(ConsentEvent)
            .where(
                ConsentEvent.recorded_at < cutoff,
                (ConsentEvent.ip_address.is_not(None)) | (ConsentEvent.user_agent.is_not(None)),
            )
            .values(ip_address=None, user_agent=None)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return blanked
