"""Helpers for delivery tests: an issue to send, and running its batches in this process."""

from __future__ import annotations

import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.models import Delivery


def make_issue(make, lists, subject="Spring news", body="Hello **everyone**.\n"):
    from newsletter.issues import create_issue

    return create_issue(subject, body, [ml.slug for ml in lists], actor="test")


def start(issue):
    """Write the ledger without enqueueing anything."""
    from newsletter.issues import send_issue

    return send_issue(issue, "test", dispatch=False)


def send_here(issue):
    """Send every row of the issue in this process and return the issue's final status."""
    from newsletter.delivery.local import send_in_process

    return send_in_process(issue.id)


def statuses(issue) -> dict[str, str]:
    """email → delivery status of the issue's rows."""
    rows = db.session.execute(
        sa.select(Delivery.email, Delivery.status).where(Delivery.issue_id == issue.id)
    )
    result = {email: status.value for email, status in rows}
    db.session.commit()
    return result
