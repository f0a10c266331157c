"""Changing preferences from a signed preferences link: the lists a person is on, and their name.

The signed link proves inbox control, so joining needs no confirmation mail and lifts the
suppression reasons a person may lift themselves. `update_preferences` commits.
"""

from __future__ import annotations

from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.lists import public_lists
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscriptions.confirmation import join, lift_own_suppression
from newsletter.subscriptions.people import ACTIVE, subscriptions_by_list
from newsletter.subscriptions.unsubscribe import leave, suppress_if_left_all


def update_preferences(
    subscriber: Subscriber, wanted: set[int], name: str, origin: Origin
) -> tuple[list[str], list[str]]:
    """Join and leave lists from the preferences page; returns (joined, left) slugs."""
    method = ConsentMethod.PREFERENCES
    existing = subscriptions_by_list(subscriber)
    offered = {ml.id: ml for ml in public_lists()} | {
        s.list_id: s.mailing_list for s in subscriber.subscriptions
    }
    joined, left = [], []
    if wanted & offered.keys():
        lift_own_suppression(subscriber, method, origin)
    for list_id, mailing_list in offered.items():
        subscription = existing.get(list_id)
        active = subscription is not None and subscription.status == SubscriptionStatus.CONFIRMED
        if list_id in wanted and not active:
            if subscription is None:
                # list_id too: the consent event below is written before any flush.
                subscription = Subscription(
                    subscriber=subscriber, mailing_list=mailing_list, list_id=list_id,
                    requested_via=method, status=SubscriptionStatus.PENDING,
                )  # fmt: skip
                db.session.add(subscription)
            join(subscription, method, origin)
            joined.append(mailing_list.slug)
        elif list_id not in wanted and subscription is not None and subscription.status in ACTIVE:
            leave(subscription, method, origin)
            left.append(mailing_list.slug)
    if name != subscriber.name:
        subscriber.name = name
        record_consent(
            subscriber, ConsentAction.PREFERENCES_CHANGED, method, origin,
            detail={"changed": ["name"]},
        )  # fmt: skip
    suppress_if_left_all(subscriber)
    db.session.commit()
    return joined, left
