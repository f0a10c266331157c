"""The sweep: the database is the truth, the queue only says "go look".

It runs as a periodic job in `serve` and every worker (one leader at a time). Rows left in
`sending` longer than SEND_CLAIM_TIMEOUT go back to `queued`: a live batch renews its rows'
`claimed_at` (delivery/heartbeat.py), so these are a dead worker's, and their issue's batches
are enqueued again in the same pass rather than wait for the stall rule, or for the broker to
hand a dead worker's messages back. An issue that is sending, with rows due and no sign of a
batch within SEND_STALL_SECONDS (no enqueue, no recorded outcome, no heartbeat: Redis lost
its queue, a dead worker held its messages, or `issues send` only recorded the work), gets its
batches enqueued again. Enqueueing twice is harmless: batches claim rows atomically.
Each pass also writes the ledger rows of the welcome messages that are on (welcome.py), so a
confirmation whose nudge was lost is welcomed within a tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from newsletter.delivery import welcome
from newsletter.delivery.ledger import enqueue_batches, finish_if_done
from newsletter.delivery.types import DELIVERY, OPEN_STATUSES
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)

UNFINISHED = (IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.CANCELLED)


def release_stale_claims() -> set[int]:
    """Put rows claimed longer ago than SEND_CLAIM_TIMEOUT back in the queue; their issues."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["SEND_CLAIM_TIMEOUT"]))
    with db.engine.begin() as connection:
        released = connection.scalars(
            sa.update(DELIVERY)
            .where(
                # Through the (issue_id, status, id) index: only unfinished issues have claims.
                DELIVERY.c.issue_id.in_(sa.select(Issue.id).where(Issue.status.in_(UNFINISHED))),
                DELIVERY.c.status == DeliveryStatus.SENDING,
                DELIVERY.c.claimed_at < cutoff,
            )
            # `claimed_by` stays: should that batch be alive after all, its outcome still
            # counts until another batch claims the row (delivery/store.py).
            .values(status=DeliveryStatus.QUEUED, claimed_at=None)
            .returning(DELIVERY.c.issue_id)
        ).all()
    if released:
        logger.warning("sweep: %d rows stuck in sending went back to the queue", len(released))
    return set(released)


def _cancel_leftovers() -> None:
    cancelled = sa.select(Issue.id).where(Issue.status == IssueStatus.CANCELLED)
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(DELIVERY)
            .where(
                DELIVERY.c.issue_id.in_(cancelled),
                DELIVERY.c.status == DeliveryStatus.QUEUED,
            )
            .values(status=DeliveryStatus.CANCELLED)
        )


def _last_heartbeats(issue_ids: list[int]) -> dict[int, datetime]:
    """The latest `claimed_at` of each issue's rows in `sending`: when a batch last beat."""
    rows = db.session.execute(
        sa.select(DELIVERY.c.issue_id, sa.func.max(DELIVERY.c.claimed_at))
        .where(DELIVERY.c.issue_id.in_(issue_ids), DELIVERY.c.status == DeliveryStatus.SENDING)
        .group_by(DELIVERY.c.issue_id)
    )
    return {issue_id: beat for issue_id, beat in rows if beat is not None}


def _is_stalled(issue: Issue, heartbeat: datetime | None, now: datetime) -> bool:
    if issue.enqueued_at is None:
        return True
    stall = timedelta(seconds=float(current_app.config["SEND_STALL_SECONDS"]))
    signs = (issue.enqueued_at, issue.progress_at, heartbeat)
    return now - max(sign for sign in signs if sign is not None) > stall


def sweep() -> int:
    """One pass; returns how many issues had their batches enqueued again."""
    released = release_stale_claims()
    _cancel_leftovers()
    welcome.queue_due()
    revived = 0
    now = utcnow()
    sending = list(db.session.scalars(sa.select(Issue).where(Issue.status == IssueStatus.SENDING)))
    heartbeats = _last_heartbeats([issue.id for issue in sending])
    for issue in sending:
        open_rows = db.session.scalar(
            sa.select(sa.exists().where(
                DELIVERY.c.issue_id == issue.id, DELIVERY.c.status.in_(OPEN_STATUSES)
            ))
        )  # fmt: skip
        if not open_rows:
            finish_if_done(issue.id)
        elif (
            issue.id in released or _is_stalled(issue, heartbeats.get(issue.id), now)
        ) and enqueue_batches(issue):
            logger.info("sweep: enqueued the batches of issue %s", issue.id)
            revived += 1
    db.session.commit()
    return revived
