"""Finding a person and the lists they are on."""

from __future__ import annotations

from sqlalchemy import select

from newsletter.audit import Actor, record
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


def update_details(
    subscriber: Subscriber,
    *,
    name: str | None = None,
    attributes: dict | None = None,
    actor: Actor = None,
) -> list[str]:
    """Change the person's name and/or replace their attributes; audited, commits.

    Returns the fields changed (none: nothing is written).
    """
    changed = []
    if name is not None and name != subscriber.name:
        subscriber.name = name
        changed.append("name")
    if attributes is not None and attributes != subscriber.attributes:
        subscriber.attributes = dict(attributes)
        changed.append("attributes")
    if changed:
        record(
            "subscriber.updated",
            target=f"subscriber:{subscriber.id}",
            detail={"fields": changed},
            actor=actor,
        )
        db.session.commit()
    return changed
