"""The sweep (DESIGN.md invariant 1): the database is the truth, the queue only says "go look".

It runs as a periodic job in `serve` and every worker (one leader at a time). Rows left in
`sending` longer than SEND_CLAIM_TIMEOUT (their worker died) go back to `queued`; an issue
that is sending, with rows due and no batch that moved or was enqueued within
SEND_STALL_SECONDS (Redis lost its queue, or `issues send` only recorded the work), gets its
batches enqueued again. Enqueueing twice is harmless: batches claim rows atomically.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from newsletter.delivery import OPEN_STATUSES
from newsletter.delivery.ledger import DELIVERY, enqueue_batches
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)

UNFINISHED = (IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.CANCELLED)


def release_stale_claims() -> int:
    """Put rows claimed longer ago than SEND_CLAIM_TIMEOUT back in the queue."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["SEND_CLAIM_TIMEOUT"]))
    with db.engine.begin() as connection:
        released = connection.execute(
            sa.update(DELIVERY)
            .where(
                # Through the (issue_id, status, id) index: only unfinished issues have claims.
                DELIVERY.c.issue_id.in_(sa.select(Issue.id).where(Issue.status.in_(UNFINISHED))),
                DELIVERY.c.status == DeliveryStatus.SENDING,
                DELIVERY.c.claimed_at < cutoff,
            )
            .values(status=DeliveryStatus.QUEUED, claimed_at=None)
        ).rowcount
    if released:
        logger.warning("sweep: %d rows stuck in sending went back to the queue", released)
    return released


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


def _is_stalled(issue: Issue, now) -> bool:
    if issue.enqueued_at is None:
        return True
    stall = timedelta(seconds=float(current_app.config["SEND_STALL_SECONDS"]))
    last_sign = max(issue.enqueued_at, issue.progress_at or issue.enqueued_at)
    return now - last_sign > stall


def sweep() -> int:
    """One pass; returns how many issues had their batches enqueued again."""
    from newsletter.delivery.outcomes import finish_if_done

    release_stale_claims()
    _cancel_leftovers()
    revived = 0
    now = utcnow()
    sending = db.session.scalars(sa.select(Issue).where(Issue.status == IssueStatus.SENDING))
    for issue in list(sending):
        open_rows = db.session.scalar(
            sa.select(sa.exists().where(
                DELIVERY.c.issue_id == issue.id, DELIVERY.c.status.in_(OPEN_STATUSES)
            ))
        )  # fmt: skip
        if not open_rows:
            finish_if_done(issue.id)
        elif _is_stalled(issue, now) and enqueue_batches(issue):
            logger.info("sweep: enqueued the batches of issue %s", issue.id)
            revived += 1
    db.session.commit()
    return revived
