"""Access: everything held about a person, as the subject access request's JSON.

The person is found by canonical key and the suppression entry by its HMAC; the audit record
names ids only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from newsletter import suppression
from newsletter.addresses import Address, canonical_key, parse_address
from newsletter.audit import Actor, record
from newsletter.consent import describe_events
from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.models import (
    Bounce,
    ConsentWording,
    Delivery,
    Issue,
    MailingList,
    Subscriber,
    SuppressionEntry,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.people import find_subscriber


def lookup_address(raw: str) -> Address:
    """The address as the person gave it; a stored one that no longer validates still works."""
    try:
        return parse_address(raw)
    except ValidationError:
        text = (raw or "").strip()
        if "@" not in text:
            raise
        return Address(email=text, key=canonical_key(text))


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_person(raw_address: str, actor: Actor) -> dict:
    """Everything held about the address, as JSON-ready data; audited. NotFoundError if none."""
    address = lookup_address(raw_address)
    subscriber = find_subscriber(address.key)
    entry = suppression.find_entry(address.key)
    if subscriber is None and entry is None:
        raise NotFoundError("nothing is held about that address")
    data = {
        "exported_at": utcnow().isoformat(),
        "address": address.email,
        "profile": _profile(subscriber) if subscriber else None,
        "subscriptions": _subscriptions(subscriber) if subscriber else [],
        "consent_events": _events(subscriber) if subscriber else [],
        "deliveries": _deliveries(subscriber) if subscriber else [],
        "bounces": _bounces(subscriber) if subscriber else [],
        "suppression": _suppression(entry) if entry else None,
    }
    if subscriber is not None:
        target = f"subscriber:{subscriber.id}"
    else:
        assert entry is not None  # one of the two was found
        target = f"suppression:{entry.id}"
    record("subscriber.exported", target=target, actor=actor)
    db.session.commit()
    return data


def _profile(subscriber: Subscriber) -> dict:
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "attributes": subscriber.attributes,
        "created_via": subscriber.created_via.value,
        "created_at": _when(subscriber.created_at),
        "updated_at": _when(subscriber.updated_at),
        "confirmation_sent_at": _when(subscriber.confirmation_sent_at),
    }


def _subscriptions(subscriber: Subscriber) -> list[dict]:
    return [
        {
            "list": s.mailing_list.slug,
            "list_name": s.mailing_list.name,
            "status": s.status.value,
            "opt_in_level": s.opt_in_level.value,
            "requested_via": s.requested_via.value,
            "created_at": _when(s.created_at),
            "confirmed_at": _when(s.confirmed_at),
            "unsubscribed_at": _when(s.unsubscribed_at),
        }
        for s in subscriber.subscriptions
    ]


def _events(subscriber: Subscriber) -> list[dict]:
    # Looked up by possibly empty columns (an event without a list or a wording): None finds None.
    slugs: dict[int | None, str] = dict(
        db.session.execute(sa.select(MailingList.id, MailingList.slug)).all()
    )
    versions = {e.wording_version for e in subscriber.consent_events if e.wording_version}
    wordings: dict[str | None, str] = dict(
        db.session.execute(
            sa.select(ConsentWording.version, ConsentWording.text).where(
                ConsentWording.version.in_(versions)
            )
        ).all()
    )
    return [
        {
            "occurred_at": _when(e.occurred_at),
            "recorded_at": _when(e.recorded_at),
            "action": e.action.value,
            "method": e.method.value,
            "list": slugs.get(e.list_id),
            "opt_in_level": e.opt_in_level.value if e.opt_in_level else None,
            "source": e.source,
            "ip_address": e.ip_address,
            "user_agent": e.user_agent,
            "wording": wordings.get(e.wording_version),
            "source_system": e.source_system,
            "import_job_id": e.import_job_id,
            "detail": e.detail,
            # The same fields in words, as the admin's history shows them.
            "description": description,
        }
        for e, description in zip(
            subscriber.consent_events, describe_events(subscriber.consent_events), strict=True
        )
    ]


def _deliveries(subscriber: Subscriber) -> list[dict]:
    rows = db.session.execute(
        sa.select(Delivery, Issue.subject)
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id)
    )
    return [
        {
            "issue_id": d.issue_id,
            "subject": subject,
            "email": d.email,
            "status": d.status.value,
            "attempts": d.attempts,
            "sent_at": _when(d.sent_at),
            "last_error": d.last_error,
        }
        for d, subject in rows
    ]


def subscriber_bounces(subscriber_id: int) -> list[Bounce]:
    return list(
        db.session.scalars(
            sa.select(Bounce).where(Bounce.subscriber_id == subscriber_id).order_by(Bounce.id)
        )
    )


def _bounces(subscriber: Subscriber) -> list[dict]:
    return [
        {
            "received_at": _when(b.received_at),
            "kind": b.kind.value,
            "issue_id": b.issue_id,
            "status_code": b.status_code,
            "diagnostic": b.diagnostic,
        }
        for b in subscriber_bounces(subscriber.id)
    ]


def _suppression(entry: SuppressionEntry) -> dict:
    return {
        "created_at": _when(entry.created_at),
        "reasons": [
            {
                "reason": r.reason.value,
                "given_at": _when(r.given_at),
                "note": r.note,
                "lifted_at": _when(r.lifted_at),
                "lifted_by": r.lifted_by,
            }
            for r in entry.reasons
        ],
    }
