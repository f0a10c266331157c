"""Recording what happened to a batch's rows, finishing an issue, and retrying later.

Outcomes only move rows that are still `sending`, so a row the sweep has already given back,
or another worker has finished, is never overwritten (statuses only move forward).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from newsletter.delivery import OPEN_STATUSES
from newsletter.delivery.ledger import DELIVERY
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus, Subscriber
from newsletter.models.base import utcnow

if TYPE_CHECKING:
    from newsletter.delivery.sender import Outcome, Recipient

ISSUE = Issue.__table__


def write_outcomes(connection: sa.Connection, outcomes: list[Outcome]) -> None:
    """Move claimed rows to their outcome; only rows still `sending` move."""
    now = utcnow()
    sent = [o.delivery_id for o in outcomes if o.status == DeliveryStatus.SENT]
    if sent:
        connection.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id.in_(sent), DELIVERY.c.status == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.SENT, sent_at=now, last_error=None)
        )
    others = [
        {
            "row_id": o.delivery_id,
            "new_status": o.status,
            "error": o.error,
            "retry_at": o.next_attempt_at,
            "undo": 1 if o.untried else 0,
        }
        for o in outcomes
        if o.status != DeliveryStatus.SENT
    ]
    if others:
        connection.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id == sa.bindparam("row_id"))
            .where(DELIVERY.c.status == DeliveryStatus.SENDING)
            .values(
                status=sa.bindparam("new_status", type_=DELIVERY.c.status.type),
                last_error=sa.bindparam("error"),
                next_attempt_at=sa.bindparam("retry_at", type_=DELIVERY.c.next_attempt_at.type),
                attempts=DELIVERY.c.attempts - sa.bindparam("undo", type_=sa.Integer),
                claimed_at=None,
            ),
            others,
        )


def suppress_hard_bounces(recipients: list[Recipient]) -> None:
    """A 5.1.x refusal (no such mailbox) suppresses the address, with consent evidence."""
    from newsletter.consent import Origin, record_consent
    from newsletter.models import (
        Bounce,
        BounceKind,
        ConsentAction,
        ConsentMethod,
        Delivery,
        SuppressionReason,
    )
    from newsletter.suppression import suppress

    for recipient in recipients:
        subscriber = db.session.get(Subscriber, recipient.subscriber_id)
        if subscriber is None:
            continue
        if suppress(subscriber.email_key, SuppressionReason.HARD_BOUNCE, "refused at RCPT (5.1.x)"):
            # On the person's record with the bounces that come back later (newsletter/bounces/).
            delivery = db.session.get(Delivery, recipient.delivery_id)
            db.session.add(
                Bounce(
                    subscriber_id=subscriber.id,
                    issue_id=delivery.issue_id if delivery is not None else None,
                    delivery_id=recipient.delivery_id,
                    kind=BounceKind.HARD,
                    detector="smtp",
                    diagnostic="refused at RCPT (5.1.x)",
                )
            )
            record_consent(
                subscriber, ConsentAction.BOUNCED, ConsentMethod.BOUNCE, Origin(source="smtp"),
                detail={"delivery_id": recipient.delivery_id},
            )  # fmt: skip
    db.session.commit()


def finish_if_done(issue_id: int) -> bool:
    """Mark a sending issue sent once none of its rows is queued or sending."""
    with db.engine.begin() as connection:
        still_open = connection.scalar(
            sa.select(
                sa.exists().where(
                    DELIVERY.c.issue_id == issue_id, DELIVERY.c.status.in_(OPEN_STATUSES)
                )
            )
        )
        if still_open:
            return False
        finished = connection.execute(
            sa.update(ISSUE)
            .where(ISSUE.c.id == issue_id, ISSUE.c.status == IssueStatus.SENDING)
            .values(status=IssueStatus.SENT, finished_at=utcnow())
        )
    return finished.rowcount == 1


def requeue_later(issue_id: int, first_id: int, last_id: int, when: datetime) -> None:
    """Enqueue the batch again for when its first retried row is due."""
    from newsletter.delivery.ledger import BATCH_ACTOR, QUEUE_DELIVERY
    from newsletter.tasks import enqueue

    delay = max(0.0, (when - utcnow()).total_seconds())
    with db.engine.begin() as connection:
        # The sweep counts the batch as live until then, so it does not enqueue it twice.
        connection.execute(sa.update(ISSUE).where(ISSUE.c.id == issue_id).values(enqueued_at=when))
    enqueue(BATCH_ACTOR, QUEUE_DELIVERY, issue_id, first_id, last_id, delay_ms=int(delay * 1000))
