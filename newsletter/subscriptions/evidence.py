"""Consent someone else obtained: a person added with the evidence the caller records.

An integration (the organisation's CRM, an event's sign-up sheet) may hold consent given
elsewhere. It is recorded as given (when, where, the words the person saw) and confirms the
subscription at once, but it never outweighs what we know: while any suppression reason stands
for the address, or the person left the list after the consent was given, nothing changes.
Only the person (by a confirmation link) or an admin lifts a suppression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsletter import suppression
from newsletter.addresses import Address
from newsletter.audit import Actor, record
from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    MailingList,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscriptions.confirmation import mark_confirmed
from newsletter.subscriptions.people import find_subscriber, subscriptions_by_list


@dataclass(frozen=True)
class GivenConsent:
    """Evidence of consent obtained outside this application."""

    consented_at: datetime
    origin: Origin
    wording: str


@dataclass
class EvidenceResult:
    subscriber_id: int | None
    confirmed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _refuses(subscription: Subscription | None, consent: GivenConsent) -> bool:
    """True when the person left the list after the consent given, or is confirmed already."""
    if subscription is None:
        return False
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return True
    left = subscription.unsubscribed_at
    return subscription.status == SubscriptionStatus.UNSUBSCRIBED and (
        left is None or left >= consent.consented_at
    )


def add_with_evidence(
    address: Address,
    name: str,
    lists: Sequence[MailingList],
    consent: GivenConsent,
    actor: Actor,
) -> EvidenceResult:
    """Confirm the person on `lists` on the strength of `consent`; audited, commits.

    Nothing is written for an address a suppression reason stands against (the audit record
    says so, without the address).
    """
    if suppression.active_reasons(address.key):
        record("subscriber.evidence_refused", detail={"why": "suppressed"}, actor=actor)
        db.session.commit()
        return EvidenceResult(None, refused=[ml.slug for ml in lists])
    subscriber = find_subscriber(address.key)
    if subscriber is None:
        # `suppressed` stays false (no suppression.sync_flags): a suppressed address was
        # refused just above, so nothing stands against this new person.
        subscriber = Subscriber(
            email=address.email,
            email_key=address.key,
            key_hash=suppression.address_hash(address.key),
            name=name,
            created_via=ConsentMethod.ADMIN,
        )
        db.session.add(subscriber)
    elif name and not subscriber.name:
        subscriber.name = name
    existing = subscriptions_by_list(subscriber) if subscriber.id else {}
    result = EvidenceResult(None)
    for mailing_list in lists:
        subscription = existing.get(mailing_list.id)
        if _refuses(subscription, consent):
            result.refused.append(mailing_list.slug)
            continue
        if subscription is None:
            subscription = Subscription(
                subscriber=subscriber,
                list_id=mailing_list.id,
                status=SubscriptionStatus.PENDING,
                requested_via=ConsentMethod.ADMIN,
            )
            db.session.add(subscription)
        mark_confirmed(subscription, OptInLevel.SINGLE)
        record_consent(
            subscriber, ConsentAction.CONFIRMED, ConsentMethod.ADMIN, consent.origin,
            list_id=mailing_list.id, opt_in_level=OptInLevel.SINGLE, wording=consent.wording,
            occurred_at=consent.consented_at, detail={"evidence": "recorded by the caller"},
        )  # fmt: skip
        result.confirmed.append(mailing_list.slug)
    db.session.flush()
    result.subscriber_id = subscriber.id
    record(
        "subscriber.evidence_recorded",
        target=f"subscriber:{subscriber.id}",
        detail={"confirmed": result.confirmed, "refused": result.refused},
        actor=actor,
    )
    db.session.commit()
    return result
