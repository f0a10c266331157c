"""Writing an issue's ledger and cutting it into batches by id range (DESIGN.md invariant 2)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from newsletter.delivery import FINAL_STATUSES, OPEN_STATUSES
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    ImportJob,
    Issue,
    IssueList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionEntry,
    SuppressionEntryReason,
)
from newsletter.models.base import utcnow
from newsletter.settings import suppression_key

DELIVERY = Delivery.__table__
QUEUE_DELIVERY = "delivery"
BATCH_ACTOR = "send_issue_batch"
_KEYSET_PAGE = 5000


def write_ledger(issue: Issue) -> int:
    """Insert one queued row per confirmed subscriber of the issue's lists; returns the count.

    One set-based INSERT ... SELECT (DISTINCT: one row however many of the lists a person is
    on), then the suppressed are taken out again. The caller commits, so both happen together.
    """
    subscription = Subscription.__table__
    list_ids = sa.select(IssueList.list_id).where(IssueList.issue_id == issue.id)
    confirmed = sa.select(subscription.c.subscriber_id).where(
        subscription.c.list_id.in_(list_ids),
        subscription.c.status == SubscriptionStatus.CONFIRMED,
    )
    return _write(issue, confirmed)


def awaiting_reconfirmation(job: ImportJob):
    """The ids of the people `job` left pending on its list who can be asked to confirm now.

    Pending on the job's list, with an `imported` consent event of this job for it (the import
    wrote one for each person it subscribed), the list not named in a confirmation mail within
    CONFIRMATION_INTERVAL and the address under its cap (the rules of sign-ups,
    newsletter/confirmation.py). Suppression is checked apart.
    """
    from newsletter.confirmation import CONFIRMATION_INTERVAL, CONFIRMATION_MAILS_PER_DAY

    subscription, subscriber = Subscription.__table__, Subscriber.__table__
    event = ConsentEvent.__table__
    recently = utcnow() - CONFIRMATION_INTERVAL
    return sa.select(subscription.c.subscriber_id).where(
        subscription.c.list_id == job.list_id,
        subscription.c.status == SubscriptionStatus.PENDING,
        sa.or_(
            subscription.c.confirmation_sent_at.is_(None),
            subscription.c.confirmation_sent_at < recently,
        ),
        sa.exists().where(
            event.c.subscriber_id == subscription.c.subscriber_id,
            event.c.list_id == job.list_id,
            event.c.action == ConsentAction.IMPORTED,
            event.c.import_job_id == job.id,
        ),
        sa.exists().where(
            subscriber.c.id == subscription.c.subscriber_id,
            sa.or_(
                subscriber.c.confirmation_sent_at.is_(None),
                subscriber.c.confirmation_sent_at < recently,
                subscriber.c.confirmation_mails < CONFIRMATION_MAILS_PER_DAY,
            ),
        ),
    )


def count_awaiting_reconfirmation(job: ImportJob) -> int:
    """How many people a reconfirmation of `job` would write to now (the suppressed left out)."""
    subscriber = Subscriber.__table__
    keys = db.session.scalars(
        sa.select(subscriber.c.email_key).where(subscriber.c.id.in_(awaiting_reconfirmation(job)))
    )
    suppressed = active_suppression_hashes()
    if not suppressed:
        return sum(1 for _ in keys)
    key = suppression_key()
    return sum(
        1
        for email_key in keys
        if hmac.new(key, email_key.encode(), hashlib.sha256).hexdigest() not in suppressed
    )


def write_reconfirmation_ledger(issue: Issue, job: ImportJob) -> int:
    """One queued row per person `job` left pending (awaiting_reconfirmation); the count."""
    return _write(issue, awaiting_reconfirmation(job))


def _write(issue: Issue, subscriber_ids: sa.Select) -> int:
    subscriber = Subscriber.__table__
    recipients = (
        sa.select(
            sa.literal(issue.id),
            subscriber.c.id,
            subscriber.c.email,
            sa.literal(DeliveryStatus.QUEUED.value),
            sa.literal(0),
        )
        .where(subscriber.c.id.in_(subscriber_ids))
        .order_by(subscriber.c.id)
    )
    db.session.execute(
        sa.insert(DELIVERY).from_select(
            ["issue_id", "subscriber_id", "email", "status", "attempts"], recipients
        )
    )
    _remove_suppressed(issue.id)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(DELIVERY).where(DELIVERY.c.issue_id == issue.id)
    )


def active_suppression_hashes() -> set[str]:
    """The HMAC of every address that has a reason not lifted."""
    entry, reason = SuppressionEntry.__table__, SuppressionEntryReason.__table__
    query = (
        sa.select(entry.c.key_hash)
        .join(reason, reason.c.entry_id == entry.c.id)
        .where(reason.c.lifted_at.is_(None))
        .distinct()
    )
    return set(db.session.scalars(query))


def _remove_suppressed(issue_id: int) -> None:
    # The suppression list holds HMACs, not addresses, so SQL cannot join on it: walk the new
    # rows by keyset and hash each address in Python (about 2 µs each), when anyone is suppressed.
    suppressed = active_suppression_hashes()
    if not suppressed:
        return
    key = suppression_key()
    subscriber = Subscriber.__table__
    last_id, doomed = 0, []
    while True:
        page = db.session.execute(
            sa.select(DELIVERY.c.id, subscriber.c.email_key)
            .join(subscriber, subscriber.c.id == DELIVERY.c.subscriber_id)
            .where(DELIVERY.c.issue_id == issue_id, DELIVERY.c.id > last_id)
            .order_by(DELIVERY.c.id)
            .limit(_KEYSET_PAGE)
        ).all()
        if not page:
            break
        last_id = page[-1].id
        doomed += [
            row.id
            for row in page
            if hmac.new(key, row.email_key.encode(), hashlib.sha256).hexdigest() in suppressed
        ]
    for start in range(0, len(doomed), _KEYSET_PAGE):
        db.session.execute(
            sa.delete(DELIVERY).where(DELIVERY.c.id.in_(doomed[start : start + _KEYSET_PAGE]))
        )


def due_ranges(issue_id: int, batch_size: int) -> list[tuple[int, int]]:
    """(first id, last id) of each run of `batch_size` queued rows due now, in id order."""
    now = utcnow()
    numbered = (
        sa.select(
            DELIVERY.c.id,
            ((sa.func.row_number().over(order_by=DELIVERY.c.id) - 1) // batch_size).label("n"),
        )
        .where(
            DELIVERY.c.issue_id == issue_id,
            DELIVERY.c.status == DeliveryStatus.QUEUED,
            sa.or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now),
        )
        .subquery()
    )
    query = (
        sa.select(sa.func.min(numbered.c.id), sa.func.max(numbered.c.id))
        .group_by(numbered.c.n)
        .order_by(sa.func.min(numbered.c.id))
    )
    return [(first, last) for first, last in db.session.execute(query)]


def enqueue_batches(issue: Issue) -> int:
    """Put a batch message on the queue for each due range; returns how many. Caller commits."""
    from newsletter.tasks import enqueue

    ranges = due_ranges(issue.id, int(current_app.config["SEND_BATCH_SIZE"]))
    issue.enqueued_at = utcnow()
    db.session.commit()
    for first, last in ranges:
        enqueue(BATCH_ACTOR, QUEUE_DELIVERY, issue.id, first, last)
    return len(ranges)


@dataclass(frozen=True)
class Progress:
    """Counts of an issue's rows by state (CONTRACT.md `issues status --json`)."""

    id: int
    status: str
    recipients: int
    counts: dict[str, int]
    unsubscribed_since: int

    @property
    def final(self) -> int:
        return sum(self.counts[s.value] for s in FINAL_STATUSES)

    @property
    def open(self) -> int:
        return sum(self.counts[s.value] for s in OPEN_STATUSES)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "recipients": self.recipients,
            **self.counts,
            "unsubscribed_since": self.unsubscribed_since,
        }


def progress(issue: Issue) -> Progress:
    """How far the issue has gone, from the ledger (no tracking: DESIGN.md, privacy)."""
    counts = {status.value: 0 for status in DeliveryStatus}
    rows = db.session.execute(
        sa.select(DELIVERY.c.status, sa.func.count())
        .where(DELIVERY.c.issue_id == issue.id)
        .group_by(DELIVERY.c.status)
    )
    for status, count in rows:
        counts[DeliveryStatus(status).value] = count
    # Rows folded away by retention or erasure still count (delivery/counts.py).
    from newsletter.delivery.counts import folded_counts

    for status, count in folded_counts(issue.id).items():
        counts[status] = counts.get(status, 0) + count
    return Progress(
        id=issue.id,
        status=issue.status.value,
        recipients=sum(counts.values()),
        counts=counts,
        unsubscribed_since=_unsubscribed_since(issue),
    )


def _unsubscribed_since(issue: Issue) -> int:
    """Recipients who left one of the issue's lists after it started sending."""
    if issue.started_at is None:
        return 0
    event = ConsentEvent.__table__
    query = sa.select(sa.func.count(sa.distinct(event.c.subscriber_id))).where(
        event.c.action == ConsentAction.UNSUBSCRIBED,
        event.c.occurred_at >= issue.started_at,
        event.c.list_id.in_(sa.select(IssueList.list_id).where(IssueList.issue_id == issue.id)),
        event.c.subscriber_id.in_(
            sa.select(DELIVERY.c.subscriber_id).where(DELIVERY.c.issue_id == issue.id)
        ),
    )
    return db.session.scalar(query) or 0
