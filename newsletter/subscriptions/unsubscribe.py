"""Leaving: the unsubscribe link (the footer's page and RFC 8058 one-click) and leaving all.

Leaving a list is that subscription's state; a person left on no list at all is also put on
the suppression list with the reason `left_all`, which they lift themselves by opting in again.
`unsubscribe` and `unsubscribe_by_admin` commit; `leave_lists`, `leave` and
`suppress_if_left_all` leave the commit to their caller.
"""

from __future__ import annotations

from sqlalchemy import select

from newsletter import suppression, webhooks
from newsletter.audit import record
from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentMethod,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.people import ACTIVE


def find_by_unsubscribe_token(token: str) -> Subscriber | None:
    """The person an unsubscribe link belongs to, or None for a mangled or erased one."""
    # PostgreSQL refuses a NUL byte in text outright; no token holds one.
    if not token or len(token) > 64 or "\x00" in token:
        return None
    return db.session.scalar(select(Subscriber).where(Subscriber.unsubscribe_token == token))


def unsubscribe(
    subscriber: Subscriber,
    method: ConsentMethod,
    origin: Origin,
    list_ids: set[int] | None = None,
    detail: dict | None = None,
) -> list[MailingList]:
    """Leave the given lists (all lists when None); idempotent. Returns the lists left now.

    `detail` goes on each consent event (`{"issue_id": …}` when an issue's link was used).
    """
    left = leave_lists(subscriber, method, origin, list_ids, detail)
    db.session.commit()
    return left


def unsubscribe_by_admin(
    subscriber: Subscriber, origin: Origin, actor: Account, list_ids: set[int] | None = None
) -> list[MailingList]:
    """Unsubscribe by hand (a letter, a phone call), with an audit record; commits."""
    left = leave_lists(subscriber, ConsentMethod.ADMIN, origin, list_ids)
    record(
        "subscriber.unsubscribed",
        target=f"subscriber:{subscriber.id}",
        detail={"lists": [ml.slug for ml in left]},
        actor=actor,
    )
    db.session.commit()
    return left


def leave_lists(
    subscriber: Subscriber,
    method: ConsentMethod,
    origin: Origin,
    list_ids: set[int] | None = None,
    detail: dict | None = None,
) -> list[MailingList]:
    """`unsubscribe` without the commit."""
    leaving = [
        s
        for s in subscriber.subscriptions
        if s.status in ACTIVE and (list_ids is None or s.list_id in list_ids)
    ]
    for subscription in leaving:
        leave(subscription, method, origin, detail)
    suppress_if_left_all(subscriber)
    return [s.mailing_list for s in leaving]


def leave(
    subscription: Subscription, method: ConsentMethod, origin: Origin, detail: dict | None = None
) -> None:
    """Unsubscribe one subscription, with its consent event."""
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    subscription.unsubscribed_at = utcnow()
    record_consent(
        subscription.subscriber, ConsentAction.UNSUBSCRIBED, method, origin,
        list_id=subscription.list_id, detail=detail,
    )  # fmt: skip
    webhooks.emit(
        webhooks.EventType.SUBSCRIBER_UNSUBSCRIBED,
        subscription.subscriber_id,
        {"list": subscription.mailing_list.slug, "method": method.value},
    )


def suppress_if_left_all(subscriber: Subscriber) -> None:
    """A person on no list any more gets the suppression reason `left_all`."""
    if not any(s.status in ACTIVE for s in subscriber.subscriptions):
        suppression.suppress(subscriber.email_key, SuppressionReason.LEFT_ALL)
