"""Confirming: when a confirmation mail is due, what a confirm link confirms, and confirming.

A confirmation mail names every list the person is pending on, and its link confirms those
lists and no others. Two rules bound the mail one address gets:
- per list: a mail goes only when some pending list has not been named in one within
  CONFIRMATION_INTERVAL (`subscription.confirmation_sent_at`), so asking for the same lists
  again within the day mails nothing, and a list asked for later gets a mail of its own;
- per address: at most CONFIRMATION_MAILS_PER_DAY mails until the address has gone a whole
  CONFIRMATION_INTERVAL without one (`subscriber.confirmation_mails`, counted from
  `subscriber.confirmation_sent_at`), however many lists there are.
A list left unnamed by the cap stays pending, and the next sign-up once the cap allows names it.

Confirming by inbox proof (the confirm link here, a preferences link in preferences.py) lifts
the reasons a person may lift themselves. `confirm_subscription` and `confirm_link` commit; the
helpers that take a subscription leave the commit to their caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from newsletter import suppression, webhooks
from newsletter.background import enqueue
from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    Issue,
    IssueStatus,
    MailingList,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.links import ConfirmToken, read_confirm_token

CONFIRMATION_INTERVAL = timedelta(hours=24)
CONFIRMATION_MAILS_PER_DAY = 3
# Itsdangerous signs whole seconds: a token signed at 12:00:00.9 says 12:00:00.
_SIGNING_RESOLUTION = timedelta(seconds=1)


def confirmation_subject(org_name: str) -> str:
    """The subject of every confirmation mail, a sign-up's or an import's request alike."""
    return f"Confirm your subscription to {org_name}"


def _within_interval(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and now - moment < CONFIRMATION_INTERVAL


# The same two rules as SQL, for asking many people at once (an import's reconfirmation).


def _sql_outside_interval(sent_at: sa.ColumnElement, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(sent_at.is_(None), sent_at <= now - CONFIRMATION_INTERVAL)


def list_may_be_named_sql(subscription: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """The subscription's list was not named in a confirmation mail within the interval."""
    return _sql_outside_interval(subscription.c.confirmation_sent_at, now)


def under_address_cap_sql(subscriber: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """`under_address_cap`, as a condition on the subscriber table."""
    return sa.or_(
        _sql_outside_interval(subscriber.c.confirmation_sent_at, now),
        subscriber.c.confirmation_mails < CONFIRMATION_MAILS_PER_DAY,
    )


def counted_mail_sql(subscriber: sa.Table, now: datetime) -> dict[str, object]:
    """`note_confirmation_mail`'s counting, as the values of an UPDATE of the subscriber table."""
    within = subscriber.c.confirmation_sent_at > now - CONFIRMATION_INTERVAL
    return {
        "confirmation_mails": sa.case((within, subscriber.c.confirmation_mails + 1), else_=1),
        "confirmation_sent_at": now,
    }


def _pending(subscriber: Subscriber) -> list[Subscription]:
    return [s for s in subscriber.subscriptions if s.status == SubscriptionStatus.PENDING]


def under_address_cap(subscriber: Subscriber, now: datetime) -> bool:
    """The address may get another confirmation mail today."""
    if not _within_interval(subscriber.confirmation_sent_at, now):
        return True
    return (subscriber.confirmation_mails or 0) < CONFIRMATION_MAILS_PER_DAY


def confirmation_mail_due(subscriber: Subscriber, now: datetime) -> bool:
    """Some pending list was not named in a mail within the day, and the cap allows a mail."""
    unnamed = any(not _within_interval(s.confirmation_sent_at, now) for s in _pending(subscriber))
    return unnamed and under_address_cap(subscriber, now)


def note_confirmation_mail(subscriber: Subscriber, now: datetime) -> None:
    """Count a confirmation mail to the address; it names every pending list (caller commits)."""
    if _within_interval(subscriber.confirmation_sent_at, now):
        subscriber.confirmation_mails = (subscriber.confirmation_mails or 0) + 1
    else:
        subscriber.confirmation_mails = 1
    subscriber.confirmation_sent_at = now
    name_pending_lists(subscriber, now)


def name_pending_lists(subscriber: Subscriber, now: datetime) -> list[Subscription]:
    """The pending subscriptions a mail going now names, stamped as named (caller commits)."""
    pending = _pending(subscriber)
    for subscription in pending:
        subscription.confirmation_sent_at = now
    return pending


@dataclass(frozen=True)
class ConfirmLink:
    """A genuine, unexpired confirm link and where its lists stand now."""

    subscriber: Subscriber
    # The person's subscriptions to the lists the link names.
    named: list[Subscription]
    # Those it may confirm: still pending, and neither confirmed nor left since it was mailed.
    confirmable: list[Subscription]

    @property
    def subscribed(self) -> list[MailingList]:
        """Lists the link names that the person is confirmed on."""
        return [s.mailing_list for s in self.named if s.status == SubscriptionStatus.CONFIRMED]


def open_confirm_link(token: str) -> ConfirmLink:
    """Read a confirm link, changing nothing; InvalidTokenError or ExpiredTokenError if bad.

    A link that confirmed its lists, or whose lists were left since, is used: it never
    confirms again, even if someone asks for one of its lists once more.
    """
    content = read_confirm_token(token)
    subscriptions = content.subscriber.subscriptions
    if content.list_ids is None:
        named, confirmable = _named_by_old_link(content)
    else:
        named = [s for s in subscriptions if s.list_id in content.list_ids]
        confirmable = named
    confirmable = [
        s
        for s in confirmable
        if s.status == SubscriptionStatus.PENDING and not _settled_since(s, content.made_at)
    ]
    return ConfirmLink(content.subscriber, named, confirmable)


def _settled_since(subscription: Subscription, made_at: datetime) -> bool:
    return any(
        moment is not None and moment > made_at
        for moment in (subscription.confirmed_at, subscription.unsubscribed_at)
    )


def _named_by_old_link(content: ConfirmToken) -> tuple[list[Subscription], list[Subscription]]:
    """What a link mailed before links named their lists stands for.

    Such a link confirmed every pending list. It now stands for the lists whose request
    (sign-up or import) was recorded by the time it was signed, and may confirm one only if
    that request began the list's present wait: one left and asked for again later is not its.
    """
    event = ConsentEvent.__table__
    requests = db.session.execute(
        sa.select(event.c.list_id, sa.func.max(event.c.recorded_at))
        .where(
            event.c.subscriber_id == content.subscriber.id,
            event.c.action.in_((ConsentAction.REQUESTED, ConsentAction.IMPORTED)),
            event.c.recorded_at < content.made_at + _SIGNING_RESOLUTION,
        )
        .group_by(event.c.list_id)
    )
    last_request = dict(requests.all())
    named = [s for s in content.subscriber.subscriptions if s.list_id in last_request]
    confirmable = [s for s in named if _waiting_since_before(s, last_request[s.list_id])]
    return named, confirmable


def _waiting_since_before(subscription: Subscription, requested_at: datetime) -> bool:
    ends = [m for m in (subscription.confirmed_at, subscription.unsubscribed_at) if m is not None]
    return not ends or max(ends) < requested_at


def confirm_subscription(
    token: str, origin: Origin, wording: str = ""
) -> tuple[ConfirmLink, list[MailingList]]:
    """Confirm the lists the link names that still wait for it; pressed again, nothing new."""
    link = open_confirm_link(token)
    return link, confirm_link(link, origin, wording)


def confirm_link(link: ConfirmLink, origin: Origin, wording: str = "") -> list[MailingList]:
    """Confirm an opened link's waiting lists, with the words the person saw; returns them.

    Only a person's POST calls this: opening the link (GET, HEAD) only reads it.
    """
    if link.confirmable:
        lift_own_suppression(link.subscriber, ConsentMethod.CONFIRM_LINK, origin)
        for subscription in link.confirmable:
            join(subscription, ConsentMethod.CONFIRM_LINK, origin, wording)
        db.session.commit()
        nudge_welcomes([s.list_id for s in link.confirmable])
    return [s.mailing_list for s in link.confirmable]


def nudge_welcomes(list_ids: Sequence[int]) -> None:
    """After a confirmation committed: have the lists' welcome messages (those on) go now.

    Only a nudge: the delivery sweep finds the same people within a tick if it is lost
    (newsletter/delivery/welcome.py).
    """
    if not list_ids:
        return
    on = db.session.scalars(
        sa.select(Issue.welcome_list_id).where(
            Issue.welcome_list_id.in_(list_ids), Issue.status == IssueStatus.SENDING
        )
    ).all()
    db.session.rollback()  # end the read: SQLite's writers must not wait on it
    for list_id in on:
        if list_id is not None:
            enqueue.queue_welcomes(list_id)


def mark_confirmed(subscription: Subscription, level: OptInLevel) -> None:
    subscription.status = SubscriptionStatus.CONFIRMED
    subscription.opt_in_level = level
    subscription.confirmed_at = utcnow()


def join(
    subscription: Subscription, method: ConsentMethod, origin: Origin, wording: str = ""
) -> None:
    """Confirm a subscription by inbox proof (confirm link or preferences link)."""
    action = (
        ConsentAction.RESUBSCRIBED
        if subscription.unsubscribed_at is not None
        else ConsentAction.CONFIRMED
    )
    mark_confirmed(subscription, OptInLevel.CONFIRMED)
    record_consent(
        subscription.subscriber, action, method, origin,
        list_id=subscription.list_id, opt_in_level=OptInLevel.CONFIRMED, wording=wording,
    )  # fmt: skip
    webhooks.emit(
        webhooks.EventType.SUBSCRIBER_CONFIRMED,
        subscription.subscriber_id,
        {"list": subscription.mailing_list.slug, "method": method.value},
    )


def lift_own_suppression(subscriber: Subscriber, method: ConsentMethod, origin: Origin) -> None:
    """Lift what the person may lift by proving they hold the inbox, as consent evidence."""
    lifted = suppression.lift_self_liftable(subscriber.email_key, by=method.value)
    if lifted:
        record_consent(
            subscriber, ConsentAction.SUPPRESSION_LIFTED, method, origin,
            detail={"reasons": sorted(r.value for r in lifted)},
        )  # fmt: skip
