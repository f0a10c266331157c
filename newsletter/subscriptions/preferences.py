"""Changing preferences from a signed preferences link: the lists a person is on, and their name.

The signed link proves inbox control, so joining needs no confirmation mail and lifts the
suppression reasons a person may lift themselves. What the link offers is `offered_lists`: the
public lists, and the private lists the person is on now (pending or confirmed). A private list
is joined only by an admin's doing (an import), so once the person has left it, or an admin has
taken them off it, their own link cannot put them back; the page and the save both use this one
rule. `update_preferences` commits.
"""

from __future__ import annotations

from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.lists import public_lists
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscriptions.confirmation import join, lift_own_suppression
from newsletter.subscriptions.people import ACTIVE, subscriptions_by_list
from newsletter.subscriptions.unsubscribe import leave, suppress_if_left_all


def offered_lists(subscriber: Subscriber) -> list[MailingList]:
    """The lists the person's preferences link may join or leave: every public list, and the
    private lists they are pending or confirmed on (public first, by name; then private)."""
    offered = {ml.id: ml for ml in public_lists()}
    for subscription in subscriber.subscriptions:
        if subscription.status in ACTIVE:
            offered.setdefault(subscription.list_id, subscription.mailing_list)
    return list(offered.values())


def update_preferences(
    subscriber: Subscriber, wanted: set[int], name: str, origin: Origin
) -> tuple[list[str], list[str]]:
    """Join and leave lists from the preferences page; returns (joined, left) slugs.

    Only `offered_lists` are touched: an id in `wanted` for any other list (a forged form) is
    ignored, so a private list the person is not on stays out of reach.
    """
    method = ConsentMethod.PREFERENCES
    existing = subscriptions_by_list(subscriber)
    offered = {ml.id: ml for ml in offered_lists(subscriber)}
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
