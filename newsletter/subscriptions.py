"""The subscriber's journey: sign up, confirm, change preferences, leave.

Every change writes consent evidence (newsletter.consent) and follows the suppression rules of
DESIGN.md invariant 4. Functions here commit; views, the CLI and workers call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import select

from newsletter import suppression
from newsletter.addresses import Address
from newsletter.confirmation import (  # noqa: F401  (the journey's rules, named here too)
    CONFIRMATION_INTERVAL,
    CONFIRMATION_MAILS_PER_DAY,
    ConfirmLink,
    confirmation_mail_due,
    note_confirmation_mail,
    open_confirm_link,
)
from newsletter.consent import Origin, event_values, record_consent, wording_version
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    MailingList,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.models.enums import SELF_LIFTABLE_REASONS
from newsletter.new_person import insert_new_person
from newsletter.subscriber_links import (  # noqa: F401  (the journey's links, named here too)
    CONFIRM_MAX_AGE,
    PREFERENCES_MAX_AGE,
    PreferencesLinkSigner,
    confirmation_token,
    link_payload,
    preferences_token,
    subscriber_from,
    subscriber_from_preferences_token,
    subscriber_of_expired_link,
)

ACTIVE = (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)


@dataclass
class SignupResult:
    subscriber_id: int
    confirmation_due: bool = False
    confirmed_now: list[str] = field(default_factory=list)


def public_lists() -> list[MailingList]:
    return list(
        db.session.scalars(
            select(MailingList).where(MailingList.is_public).order_by(MailingList.name)
        )
    )


def find_subscriber(key: str) -> Subscriber | None:
    return db.session.scalar(select(Subscriber).where(Subscriber.email_key == key))


def _get_or_create(address: Address, name: str, created_via: ConsentMethod) -> Subscriber:
    subscriber = find_subscriber(address.key)
    if subscriber is None:
        # Not flushed here: the caller's commit writes the row once, complete, and a new
        # person's empty list of subscriptions needs no query.
        subscriber = Subscriber(
            email=address.email, email_key=address.key, name=name, created_via=created_via
        )
        db.session.add(subscriber)
    elif name and not subscriber.name:
        # An anonymous form may fill a missing name but never overwrite one.
        subscriber.name = name
    return subscriber


def _subscriptions_by_list(subscriber: Subscriber) -> dict[int, Subscription]:
    return {s.list_id: s for s in subscriber.subscriptions}


def _confirm(subscription: Subscription, level: OptInLevel) -> None:
    subscription.status = SubscriptionStatus.CONFIRMED
    subscription.opt_in_level = level
    subscription.confirmed_at = utcnow()


def request_subscription(
    address: Address,
    name: str,
    lists: Sequence[MailingList | sa.Row],
    origin: Origin,
    wording: str,
) -> SignupResult:
    """Record a sign-up from the form; the caller enqueues the confirmation mail if due.

    Never downgrades a confirmed subscription; single-opt-in lists confirm at once unless
    the address is suppressed, in which case only the confirmation link may lift it.
    """
    result = _request_as_new_person(address, name, lists, origin, wording)
    if result is not None:
        return result
    standing = suppression.active_reasons(address.key)
    blocked = bool(standing - SELF_LIFTABLE_REASONS)
    subscriber = _get_or_create(address, name, ConsentMethod.FORM)
    existing = _subscriptions_by_list(subscriber)
    confirmed_now: list[str] = []
    needs_confirmation = False
    for mailing_list in lists:
        subscription = existing.get(mailing_list.id)
        if subscription is not None and subscription.status == SubscriptionStatus.CONFIRMED:
            continue
        level = OptInLevel.CONFIRMED if mailing_list.double_opt_in else OptInLevel.SINGLE
        record_consent(
            subscriber, ConsentAction.REQUESTED, ConsentMethod.FORM, origin,
            list_id=mailing_list.id, opt_in_level=level, wording=wording,
        )  # fmt: skip
        if subscription is None:
            subscription = Subscription(
                subscriber=subscriber,
                list_id=mailing_list.id,  # the form passes rows, not loaded lists
                status=SubscriptionStatus.PENDING,
                requested_via=ConsentMethod.FORM,
            )
            db.session.add(subscription)
        if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            # Asking again is the form's request: it lapses like any other (retention.py).
            subscription.requested_via = ConsentMethod.FORM
        subscription.status = SubscriptionStatus.PENDING
        if level == OptInLevel.SINGLE and not standing:
            _confirm(subscription, OptInLevel.SINGLE)
            record_consent(
                subscriber, ConsentAction.CONFIRMED, ConsentMethod.FORM, origin,
                list_id=mailing_list.id, opt_in_level=OptInLevel.SINGLE, wording=wording,
            )  # fmt: skip
            confirmed_now.append(mailing_list.slug)
        else:
            needs_confirmation = True
    now = utcnow()
    due = needs_confirmation and not blocked and confirmation_mail_due(subscriber, now)
    if due:
        note_confirmation_mail(subscriber, now)
    db.session.flush()  # assigns a new subscriber's id
    result = SignupResult(subscriber.id, confirmation_due=due, confirmed_now=confirmed_now)
    db.session.commit()
    return result


def _request_as_new_person(
    address: Address,
    name: str,
    lists: Sequence[MailingList | sa.Row],
    origin: Origin,
    wording: str,
) -> SignupResult | None:
    """request_subscription for an address nobody holds and nothing suppresses, with Core.

    The common case on a public form, and the hot path (newsletter.new_person): one INSERT per
    table instead of the unit of work, all in one statement on PostgreSQL. Returns None,
    having written nothing, for anyone else.
    """
    now = utcnow()
    version = wording_version(wording) if wording else None
    subscriptions, events, confirmed_now = [], [], []
    needs_confirmation = False
    for mailing_list in lists:
        level = OptInLevel.CONFIRMED if mailing_list.double_opt_in else OptInLevel.SINGLE
        confirms = level == OptInLevel.SINGLE
        subscriptions.append(
            {
                "list_id": mailing_list.id,
                "status": SubscriptionStatus.CONFIRMED if confirms else SubscriptionStatus.PENDING,
                "opt_in_level": level if confirms else OptInLevel.UNKNOWN,
                "requested_via": ConsentMethod.FORM,
                "confirmed_at": now if confirms else None,
                # The confirmation mail about to be enqueued names it.
                "confirmation_sent_at": None if confirms else now,
            }
        )
        actions = [ConsentAction.REQUESTED] + ([ConsentAction.CONFIRMED] if confirms else [])
        events += [
            event_values(
                action,
                ConsentMethod.FORM,
                origin,
                now,
                list_id=mailing_list.id,
                opt_in_level=level,
                wording_version=version,
            )  # fmt: skip
            for action in actions
        ]
        if confirms:
            confirmed_now.append(mailing_list.slug)
        else:
            needs_confirmation = True
    person = {
        "email": address.email,
        "email_key": address.key,
        "name": name,
        "created_via": ConsentMethod.FORM,
        "confirmation_sent_at": now if needs_confirmation else None,
        "confirmation_mails": 1 if needs_confirmation else 0,
    }
    children = [(Subscription.__table__, row) for row in subscriptions]
    children += [(ConsentEvent.__table__, row) for row in events]
    key_hash = suppression.address_hash(address.key)
    subscriber_id = insert_new_person(person, key_hash, children)
    if subscriber_id is None:
        return None
    if db.session().in_transaction():
        db.session.commit()
    return SignupResult(
        subscriber_id, confirmation_due=needs_confirmation, confirmed_now=confirmed_now
    )


def pending_lists(subscriber: Subscriber) -> list[MailingList]:
    return [
        s.mailing_list for s in subscriber.subscriptions if s.status == SubscriptionStatus.PENDING
    ]


def active_lists(subscriber: Subscriber) -> list[MailingList]:
    return [s.mailing_list for s in subscriber.subscriptions if s.status in ACTIVE]


def _lift_own_suppression(subscriber: Subscriber, method: ConsentMethod, origin: Origin) -> None:
    lifted = suppression.lift_self_liftable(subscriber.email_key, by=method.value)
    if lifted:
        record_consent(
            subscriber, ConsentAction.SUPPRESSION_LIFTED, method, origin,
            detail={"reasons": sorted(r.value for r in lifted)},
        )  # fmt: skip


def _join(
    subscription: Subscription, method: ConsentMethod, origin: Origin, wording: str = ""
) -> None:
    """Confirm a subscription by inbox proof (confirm link or preferences token)."""
    action = (
        ConsentAction.RESUBSCRIBED
        if subscription.unsubscribed_at is not None
        else ConsentAction.CONFIRMED
    )
    _confirm(subscription, OptInLevel.CONFIRMED)
    record_consent(
        subscription.subscriber, action, method, origin,
        list_id=subscription.list_id, opt_in_level=OptInLevel.CONFIRMED, wording=wording,
    )  # fmt: skip


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
        _lift_own_suppression(link.subscriber, ConsentMethod.CONFIRM_LINK, origin)
        for subscription in link.confirmable:
            _join(subscription, ConsentMethod.CONFIRM_LINK, origin, wording)
        db.session.commit()
    return [s.mailing_list for s in link.confirmable]


def find_by_unsubscribe_token(token: str) -> Subscriber | None:
    # PostgreSQL refuses a NUL byte in text outright; no token holds one.
    if not token or len(token) > 64 or "\x00" in token:
        return None
    return db.session.scalar(select(Subscriber).where(Subscriber.unsubscribe_token == token))


def _leave(subscription: Subscription, method: ConsentMethod, origin: Origin) -> None:
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    subscription.unsubscribed_at = utcnow()
    record_consent(
        subscription.subscriber, ConsentAction.UNSUBSCRIBED, method, origin,
        list_id=subscription.list_id,
    )  # fmt: skip


def _suppress_if_left_all(subscriber: Subscriber) -> None:
    if not any(s.status in ACTIVE for s in subscriber.subscriptions):
        suppression.suppress(subscriber.email_key, SuppressionReason.LEFT_ALL)


def unsubscribe(
    subscriber: Subscriber,
    method: ConsentMethod,
    origin: Origin,
    list_ids: set[int] | None = None,
) -> list[MailingList]:
    """Leave the given lists (all lists when None); idempotent. Returns the lists left now."""
    leaving = [
        s
        for s in subscriber.subscriptions
        if s.status in ACTIVE and (list_ids is None or s.list_id in list_ids)
    ]
    for subscription in leaving:
        _leave(subscription, method, origin)
    _suppress_if_left_all(subscriber)
    db.session.commit()
    return [s.mailing_list for s in leaving]


def update_preferences(
    subscriber: Subscriber, wanted: set[int], name: str, origin: Origin
) -> tuple[list[str], list[str]]:
    """Join and leave lists from the preferences page; returns (joined, left) slugs.

    The signed preferences link proves inbox control, so joining needs no confirmation mail.
    """
    method = ConsentMethod.PREFERENCES
    existing = _subscriptions_by_list(subscriber)
    offered = {ml.id: ml for ml in public_lists()} | {
        s.list_id: s.mailing_list for s in subscriber.subscriptions
    }
    joined, left = [], []
    if wanted & offered.keys():
        _lift_own_suppression(subscriber, method, origin)
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
            _join(subscription, method, origin)
            joined.append(mailing_list.slug)
        elif list_id not in wanted and subscription is not None and subscription.status in ACTIVE:
            _leave(subscription, method, origin)
            left.append(mailing_list.slug)
    if name != subscriber.name:
        subscriber.name = name
        record_consent(
            subscriber, ConsentAction.PREFERENCES_CHANGED, method, origin,
            detail={"changed": ["name"]},
        )  # fmt: skip
    _suppress_if_left_all(subscriber)
    db.session.commit()
    return joined, left
