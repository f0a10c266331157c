"""Finding a person and the lists they are on."""

from __future__ import annotations

from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import MailingList, Subscriber, Subscription, SubscriptionStatus

# A subscription that still counts: waiting for its confirmation, or confirmed.
ACTIVE = (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)


def find_subscriber(key: str) -> Subscriber | None:
    """The person holding this canonical address key, if any."""
    return db.session.scalar(select(Subscriber).where(Subscriber.email_key == key))


def active_lists(subscriber: Subscriber) -> list[MailingList]:
    """The lists the person is pending or confirmed on."""
    return [s.mailing_list for s in subscriber.subscriptions if s.status in ACTIVE]


def subscriptions_by_list(subscriber: Subscriber) -> dict[int, Subscription]:
    return {s.list_id: s for s in subscriber.subscriptions}
