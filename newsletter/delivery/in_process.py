"""Sending an issue in this process, batch after batch (`issues send --wait` on its own)."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app

from newsletter.delivery.control import run_batch
from newsletter.delivery.ledger import due_ranges, finish_if_done
from newsletter.delivery.sweep import release_stale_claims
from newsletter.delivery.types import DELIVERY
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus
from newsletter.models.base import utcnow

IDLE_WAIT = 1.0


def send_in_process(issue_id: int) -> IssueStatus:
    """Send every row of a sending issue here; returns the status it ended in."""
    batch_size = int(current_app.config["SEND_BATCH_SIZE"])
    while True:
        status = db.session.scalar(sa.select(Issue.status).where(Issue.id == issue_id))
        db.session.commit()
        if status is None:
            return IssueStatus.CANCELLED  # deleted: as good as cancelled
        if status != IssueStatus.SENDING:
            return status
        release_stale_claims()
        ranges = due_ranges(issue_id, batch_size)
        db.session.commit()
        for first, last in ranges:
            if run_batch(issue_id, first, last).stopped is not None:
                break
        if not ranges and not finish_if_done(issue_id):
            time.sleep(_seconds_until_next_retry(issue_id))


def _seconds_until_next_retry(issue_id: int) -> float:
    due = db.session.scalar(
        sa.select(sa.func.min(DELIVERY.c.next_attempt_at)).where(
            DELIVERY.c.issue_id == issue_id, DELIVERY.c.status == DeliveryStatus.QUEUED
        )
    )
    db.session.commit()
    if due is None:
        return IDLE_WAIT
    return min(IDLE_WAIT, max(0.0, (due - utcnow()).total_seconds()))
