"""What a bounce or complaint does: the one bounce policy (thresholds in config).

- A hard bounce marks the delivery `bounced` and suppresses the address (`hard_bounce`). A
  relay that refuses a mailbox at RCPT (5.1.x, while the delivery engine sends) is a hard
  bounce too (`refused_at_rcpt`): the address is suppressed and the bounce recorded.
- Soft bounces suppress (`soft_bounces`) once BOUNCE_SOFT_LIMIT different issues have
  soft-bounced within BOUNCE_SOFT_DAYS days.
- A complaint unsubscribes the person from every list and suppresses (`complaint`).

Each writes a consent event. The same report received twice (a retrying mail server) changes
nothing the second time.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from newsletter import suppression, webhooks
from newsletter.bounces.reports import Report
from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.mail.errors import PermanentSmtpError
from newsletter.models import (
    Bounce,
    BounceKind,
    ConsentAction,
    ConsentMethod,
    Delivery,
    DeliveryStatus,
    Issue,
    Subscriber,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.unsubscribe import leave_lists, unsubscribe

logger = logging.getLogger(__name__)

ORIGIN = Origin(source="bounce receiver")
# An enhanced status code saying the mailbox does not exist (RFC 3463, 5.1.x).
_MAILBOX_CODE = re.compile(r"\b5\.1\.\d{1,3}\b")
RCPT_REFUSAL = "refused at RCPT (5.1.x)"


def apply_report(delivery_id: int, report: Report) -> Bounce | None:
    """Record what a report says about one delivery and apply the policy; commits.

    Returns the bounce recorded, or None when there was nothing to do.
    """
    kind = report.kind
    if kind is None:
        return None
    held = _held(delivery_id)
    if held is None:
        # Folded away by retention, or the person was erased: nothing left to act on.
        logger.info("dropped a %s report for delivery %s: no longer held", kind, delivery_id)
        return None
    delivery, subscriber = held
    if _already_recorded(delivery.id, kind):
        logger.info("dropped a repeated %s report for delivery %s", kind, delivery.id)
        return None
    bounce = Bounce(
        subscriber_id=subscriber.id,
        issue_id=delivery.issue_id,
        delivery_id=delivery.id,
        kind=kind,
        status_code=report.status_code,
        detector=report.detector,
        diagnostic=report.diagnostic,
    )
    db.session.add(bounce)
    webhooks.emit(
        webhooks.EventType.BOUNCE_RECEIVED,
        subscriber.id,
        {
            "issue_id": delivery.issue_id,
            "delivery_id": delivery.id,
            "kind": kind.value,
            "status": report.status_code,
        },
    )
    detail = {
        "kind": kind.value,
        "delivery_id": delivery.id,
        "issue_id": delivery.issue_id,
        "status": report.status_code,
    }
    if kind == BounceKind.COMPLAINT:
        _complaint(subscriber, delivery, detail)
    else:
        record_consent(
            subscriber, ConsentAction.BOUNCED, ConsentMethod.BOUNCE, ORIGIN, detail=detail
        )
        if kind == BounceKind.HARD:
            _hard(subscriber, delivery, report)
        else:
            _soft(subscriber)
    db.session.commit()
    logger.info("recorded a %s report for delivery %s", kind, delivery.id)
    return bounce


def _held(delivery_id: int) -> tuple[Delivery, Subscriber] | None:
    """The delivery and its person, while both are still held."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.subscriber_id is None:
        return None
    subscriber = db.session.get(Subscriber, delivery.subscriber_id)
    return None if subscriber is None else (delivery, subscriber)


def _already_recorded(delivery_id: int, kind: BounceKind) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.exists().where(Bounce.delivery_id == delivery_id, Bounce.kind == kind))
        )
    )


def _hard(subscriber: Subscriber, delivery: Delivery, report: Report) -> None:
    # Only a row that was handed over moves: statuses never go back (a bounce of a resent
    # message cannot undo a later success, and a still-queued row is not ours to settle).
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
        delivery.status = DeliveryStatus.BOUNCED
        delivery.last_error = f"bounced {report.status_code}".strip()[:500]
    note = f"issue {delivery.issue_id}, {report.status_code or 'permanent failure'}"
    hard_bounce(subscriber, note)


def hard_bounce(subscriber: Subscriber, note: str) -> bool:
    """Suppress the address for a hard bounce; False if that reason stood already."""
    return suppression.suppress(subscriber.email_key, SuppressionReason.HARD_BOUNCE, note)


def is_mailbox_refusal(error: PermanentSmtpError) -> bool:
    """True when a relay refused the recipient at RCPT because the mailbox does not exist."""
    refused = isinstance(error.__cause__, smtplib.SMTPRecipientsRefused)
    return refused and bool(_MAILBOX_CODE.search(str(error)[:500]))


def refused_at_rcpt(subscriber_id: int | None, delivery_id: int) -> None:
    """A mailbox refused at RCPT: a hard bounce, with the bounce and consent evidence on the
    person's record beside the bounces that come back later. The caller commits."""
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id is not None else None
    if subscriber is None or not hard_bounce(subscriber, RCPT_REFUSAL):
        return
    delivery = db.session.get(Delivery, delivery_id)
    db.session.add(
        Bounce(
            subscriber_id=subscriber.id,
            issue_id=delivery.issue_id if delivery is not None else None,
            delivery_id=delivery_id,
            kind=BounceKind.HARD,
            detector="smtp",
            diagnostic=RCPT_REFUSAL,
        )
    )
    record_consent(
        subscriber, ConsentAction.BOUNCED, ConsentMethod.BOUNCE, Origin(source="smtp"),
        detail={"delivery_id": delivery_id},
    )  # fmt: skip


def _soft(subscriber: Subscriber) -> None:
    config = current_app.config
    limit = int(config["BOUNCE_SOFT_LIMIT"])
    since = utcnow() - timedelta(days=int(config["BOUNCE_SOFT_DAYS"]))
    db.session.flush()
    issues = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Bounce.issue_id))).where(
            Bounce.subscriber_id == subscriber.id,
            Bounce.kind == BounceKind.SOFT,
            Bounce.received_at >= since,
        )
    )
    if (issues or 0) >= limit:
        note = f"{issues} issues soft-bounced within {config['BOUNCE_SOFT_DAYS']} days"
        suppression.suppress(subscriber.email_key, SuppressionReason.SOFT_BOUNCES, note)


def _complaint(subscriber: Subscriber, delivery: Delivery, detail: dict) -> None:
    record_consent(
        subscriber, ConsentAction.COMPLAINED, ConsentMethod.COMPLAINT, ORIGIN, detail=detail
    )
    note = f"complaint about issue {delivery.issue_id}"
    suppression.suppress(subscriber.email_key, SuppressionReason.COMPLAINT, note)
    # Leaves every list, with an `unsubscribed` event per list; apply_report commits.
    leave_lists(subscriber, ConsentMethod.COMPLAINT, ORIGIN, detail={"issue_id": delivery.issue_id})


def unsubscribe_by_mail(delivery_id: int | None) -> None:
    """A mail to the List-Unsubscribe mailto: leave every list of that issue (RFC 8058's mailto).

    The address's signed token names the delivery, and so the person and the issue; a forged
    or unknown one changes nothing and is logged without the address.
    """
    held = _held(delivery_id) if delivery_id is not None else None
    if held is None:
        logger.warning("dropped an unsubscribe mail: no valid signed address of a delivery held")
        return
    delivery, subscriber = held
    issue = db.session.get(Issue, delivery.issue_id)
    list_ids = {link.list_id for link in issue.issue_lists} if issue is not None else None
    origin = Origin(source="List-Unsubscribe mailto")
    issue_id = delivery.issue_id
    unsubscribe(subscriber, ConsentMethod.ONE_CLICK, origin, list_ids, {"issue_id": issue_id})
    logger.info("unsubscribe mail for delivery %s applied", delivery.id)
