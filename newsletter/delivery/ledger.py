"""An issue's ledger: written once when it starts, cut into batches, and closed when done.

The ledger is one `delivery` row per recipient, written in one set-based INSERT ... SELECT
when the issue starts (the suppressed left out by the same statement). Batches are id
ranges of its queued rows, enqueued as messages that only say "go look": the rows are the
truth. An issue is sent once none of its rows is queued or sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from newsletter import webhooks
from newsletter.background import enqueue
from newsletter.delivery.counts import folded_counts
from newsletter.delivery.types import DELIVERY, ISSUE, OPEN_STATUSES, Progress
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    DeliveryStatus,
    Issue,
    IssueDeliveryCount,
    IssueKind,
    IssueList,
    IssueStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.models.base import utcnow
from newsletter.suppression import suppressed_sql


def confirmed_on_lists(issue: Issue) -> sa.Select:
    """The ids of the confirmed subscribers of the issue's lists: who the ledger is written for.

    Suppressed addresses are among them; `mailable` leaves them out.
    """
    subscription = Subscription.__table__
    list_ids = sa.select(IssueList.list_id).where(IssueList.issue_id == issue.id)
    return sa.select(subscription.c.subscriber_id).where(
        subscription.c.list_id.in_(list_ids),
        subscription.c.status == SubscriptionStatus.CONFIRMED,
    )


def mailable(subscriber_ids: sa.Select) -> sa.Select:
    """The people among `subscriber_ids` (each once) against whom no suppression stands.

    The one selection of recipients: the ledger is written from it, and the send's
    confirmation page and a reconfirmation's count count it, so each shows the number of rows
    the ledger gets. Set-based: the suppression test joins on the person's stored hash.
    """
    subscriber = Subscriber.__table__
    return sa.select(subscriber.c.id, subscriber.c.email).where(
        subscriber.c.id.in_(subscriber_ids), ~suppressed_sql(subscriber.c.key_hash)
    )


def write_ledger(issue: Issue) -> int:
    """Insert one queued row per confirmed subscriber of the issue's lists; returns the count.

    One set-based INSERT ... SELECT (one row however many of the lists a person is on, the
    suppressed left out). The caller commits.
    """
    return write_rows(issue, confirmed_on_lists(issue))


@dataclass(frozen=True)
class PlannedSend:
    """Who the ledger would be written for if the issue were sent now."""

    recipients: int
    first: Subscriber | None


def planned_recipients(issue: Issue) -> PlannedSend:
    """How many rows `write_ledger` would write now, and the first of them (lowest id).

    Reads only, in one query over the same selection as the send, so the number a
    confirmation page shows is the number the ledger gets (unless people join, leave or are
    suppressed in between).
    """
    chosen = mailable(confirmed_on_lists(issue)).subquery()
    count, first_id = db.session.execute(sa.select(sa.func.count(), sa.func.min(chosen.c.id))).one()
    first = db.session.get(Subscriber, first_id) if first_id is not None else None
    return PlannedSend(recipients=count or 0, first=first)


def has_recipients(issue: Issue) -> bool:
    """Whether `write_ledger` would write any row now: the first mailable person, no count."""
    chosen = mailable(confirmed_on_lists(issue)).subquery()
    return db.session.scalar(sa.select(chosen.c.id).limit(1)) is not None


def count_mailable(subscriber_ids: sa.Select) -> int:
    """How many rows `write_rows` would write for `subscriber_ids` now (one query)."""
    chosen = mailable(subscriber_ids).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(chosen)) or 0


def write_rows(issue: Issue, subscriber_ids: sa.Select) -> int:
    """One queued row per subscriber in `subscriber_ids`, the suppressed left out; the count."""
    chosen = mailable(subscriber_ids).subquery()
    recipients = sa.select(
        sa.literal(issue.id),
        chosen.c.id,
        chosen.c.email,
        sa.literal(DeliveryStatus.QUEUED.value),
        sa.literal(0),
    ).order_by(chosen.c.id)
    db.session.execute(
        sa.insert(DELIVERY).from_select(
            ["issue_id", "subscriber_id", "email", "status", "attempts"], recipients
        )
    )
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(DELIVERY).where(DELIVERY.c.issue_id == issue.id)
    )
    return count or 0


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
    """Put a batch message on the queue for each due range; returns how many.

    Commits (the caller's changes with it) before enqueueing, so that no worker takes a
    message before the rows and the `enqueued_at` it reads are visible.
    """
    ranges = due_ranges(issue.id, int(current_app.config["SEND_BATCH_SIZE"]))
    issue.enqueued_at = utcnow()
    db.session.commit()
    for first, last in ranges:
        enqueue.send_batch(issue.id, first, last)
    return len(ranges)


def progress(issue: Issue) -> Progress:
    """How far the issue has gone, from the ledger alone (no open or click tracking)."""
    counts = {status.value: 0 for status in DeliveryStatus}
    rows = db.session.execute(
        sa.select(DELIVERY.c.status, sa.func.count())
        .where(DELIVERY.c.issue_id == issue.id)
        .group_by(DELIVERY.c.status)
    )
    for status, count in rows:
        counts[DeliveryStatus(status).value] = count
    # Rows folded away by retention or erasure still count (delivery/counts.py).
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


def dispatch_written(issue: Issue, recipients: int, dispatch: bool) -> None:
    """After the ledger is committed: finish at once if empty, else enqueue (with `dispatch`)."""
    db.session.refresh(issue)
    if recipients == 0:
        finish_if_done(issue.id)
    elif dispatch:
        enqueue_batches(issue)
    db.session.refresh(issue)


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
            .where(
                ISSUE.c.id == issue_id,
                ISSUE.c.status == IssueStatus.SENDING,
                # A welcome message that is on waits for the next person: it is never done.
                ISSUE.c.kind != IssueKind.WELCOME,
            )
            .values(status=IssueStatus.SENT, finished_at=utcnow())
        )
        if finished.rowcount == 1:
            webhooks.emit(
                webhooks.EventType.ISSUE_SENT,
                None,
                {"issue_id": issue_id, "status": "sent"},
                connection=connection,
            )
    return finished.rowcount == 1


def requeue_later(issue_id: int, first_id: int, last_id: int, when: datetime) -> None:
    """Enqueue the batch again for when its first retried row is due."""
    delay = max(0.0, (when - utcnow()).total_seconds())
    with db.engine.begin() as connection:
        # The sweep counts the batch as live until then, so it does not enqueue it twice.
        connection.execute(sa.update(ISSUE).where(ISSUE.c.id == issue_id).values(enqueued_at=when))
    enqueue.send_batch(issue_id, first_id, last_id, delay_ms=int(delay * 1000))


def latest_issues(limit: int = 5) -> list[tuple[Issue, Progress]]:
    """The newest issues that started sending, each with its delivery counts."""
    issues = db.session.scalars(
        sa.select(Issue)
        .where(Issue.started_at.is_not(None), Issue.kind != IssueKind.WELCOME)
        .order_by(Issue.started_at.desc())
        .limit(limit)
    )
    return [(issue, progress(issue)) for issue in issues]


def outcome_counts(issue_ids: list[int]) -> dict[int, dict[str, int]]:
    """issue id → status → rows (folded rows included), in two grouped queries for them all."""
    counts: dict[int, dict[str, int]] = {
        issue_id: {status.value: 0 for status in DeliveryStatus} for issue_id in issue_ids
    }
    if not issue_ids:
        return counts
    live = db.session.execute(
        sa.select(DELIVERY.c.issue_id, DELIVERY.c.status, sa.func.count())
        .where(DELIVERY.c.issue_id.in_(issue_ids))
        .group_by(DELIVERY.c.issue_id, DELIVERY.c.status)
    )
    for issue_id, status, count in live:
        counts[issue_id][DeliveryStatus(status).value] += count
    folded = IssueDeliveryCount.__table__
    for issue_id, status, count in db.session.execute(
        sa.select(folded.c.issue_id, folded.c.status, folded.c.count).where(
            folded.c.issue_id.in_(issue_ids)
        )
    ):
        counts[issue_id][status] = counts[issue_id].get(status, 0) + count
    return counts
