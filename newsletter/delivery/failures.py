"""What the admin sees of an issue's trouble: failures with their reasons, and a stalled send.

A failed row keeps its reason in `last_error` (a relay's reply, "the relay does not accept
international addresses", or why its message could not be built). Reasons are grouped with
counts, so a page stays short whatever the list's size; the first few failed recipients are
listed too, so the secretariat can act on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from newsletter.delivery.types import DELIVERY
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus
from newsletter.models.base import utcnow

REASONS_SHOWN = 10
RECIPIENTS_SHOWN = 50
NO_REASON = "no reason recorded"


@dataclass(frozen=True)
class FailedRecipient:
    email: str
    reason: str


def failure_reasons(issue_id: int, limit: int = REASONS_SHOWN) -> list[dict[str, object]]:
    """The commonest reasons rows failed, most frequent first: [{"reason", "count"}]."""
    count = sa.func.count().label("count")
    rows = db.session.execute(
        sa.select(DELIVERY.c.last_error, count)
        .where(DELIVERY.c.issue_id == issue_id, DELIVERY.c.status == DeliveryStatus.FAILED)
        .group_by(DELIVERY.c.last_error)
        .order_by(count.desc(), DELIVERY.c.last_error)
        .limit(limit)
    )
    return [{"reason": reason or NO_REASON, "count": n} for reason, n in rows]


def failed_recipients(issue_id: int, limit: int = RECIPIENTS_SHOWN) -> list[FailedRecipient]:
    """The first failed rows of the issue, by id, with their reasons."""
    rows = db.session.execute(
        sa.select(DELIVERY.c.email, DELIVERY.c.last_error)
        .where(DELIVERY.c.issue_id == issue_id, DELIVERY.c.status == DeliveryStatus.FAILED)
        .order_by(DELIVERY.c.id)
        .limit(limit)
    )
    return [FailedRecipient(email, reason or NO_REASON) for email, reason in rows]


def stalled_seconds(issue: Issue, now: datetime | None = None) -> int | None:
    """How long a sending issue with rows due has recorded no outcome, past the stall time.

    None while it moves, waits only for retries that are not yet due, or is not sending.
    Every running batch touches `progress_at` within seconds of its first outcomes.
    """
    if issue.status != IssueStatus.SENDING:
        return None
    now = now or utcnow()
    signs = [t for t in (issue.progress_at, issue.started_at) if t is not None]
    last_sign = max(signs) if signs else issue.created_at
    idle = (now - last_sign).total_seconds()
    stall = float(current_app.config["SEND_STALL_SECONDS"])
    if idle <= stall or not _rows_due(issue.id, now):
        return None
    return int(idle)


def _rows_due(issue_id: int, now: datetime) -> bool:
    due = sa.or_(
        DELIVERY.c.status == DeliveryStatus.SENDING,
        sa.and_(
            DELIVERY.c.status == DeliveryStatus.QUEUED,
            sa.or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now),
        ),
    )
    return bool(
        db.session.scalar(sa.select(sa.exists().where(DELIVERY.c.issue_id == issue_id, due)))
    )


def stall_note(seconds: int | None) -> str | None:
    """A sentence for the status line when the send is stuck."""
    if seconds is None:
        return None
    minutes = max(1, round(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Stalled: nothing recorded for {minutes} {unit} while recipients are waiting. "
        "Check that a worker (or newsletter serve) is running; the sweep re-queues stuck "
        "batches by itself."
    )
