"""Scheduling an issue: the periodic runner starts it at its time, even after a restart.

A schedule is the issue's status (`scheduled`) and its `scheduled_at` in UTC; nothing is held
in memory, so a time that passed while nothing ran starts the issue at the next run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa

from newsletter.audit import Actor, record
from newsletter.compose.issues import EDITABLE, IssueStateError, move
from newsletter.delivery.control import can_dispatch, send_issue
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import Account, Issue, IssueKind, IssueStatus
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)


def schedule_issue(issue: Issue, when: datetime, actor: Actor, now: datetime | None = None) -> None:
    """Have the scheduler start the issue at `when` (aware; stored in UTC)."""
    now = now or utcnow()
    if issue.kind != IssueKind.ISSUE:
        raise IssueStateError(f"issue {issue.id} is not a newsletter and cannot be scheduled")
    if when <= now:
        raise ValidationError("Choose a time in the future")
    move(
        issue, EDITABLE, " and cannot be scheduled",
        status=IssueStatus.SCHEDULED, scheduled_at=when,
        sent_by_id=actor.id if isinstance(actor, Account) else None,
    )  # fmt: skip
    detail = {"at": when.astimezone(UTC).isoformat()}
    record("issue.scheduled", target=f"issue:{issue.id}", detail=detail, actor=actor)
    db.session.commit()
    db.session.refresh(issue)


def unschedule_issue(issue: Issue, actor: Actor) -> None:
    """Cancel a schedule: the issue is a draft again."""
    move(
        issue, (IssueStatus.SCHEDULED,), ", not scheduled",
        status=IssueStatus.DRAFT, scheduled_at=None, sent_by_id=None,
    )  # fmt: skip
    record("issue.unscheduled", target=f"issue:{issue.id}", actor=actor)
    db.session.commit()
    db.session.refresh(issue)


def start_due_issues(now: datetime | None = None) -> list[int]:
    """Start every scheduled issue whose time has come (or passed while nothing ran)."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Issue.id)
        .where(Issue.status == IssueStatus.SCHEDULED, Issue.scheduled_at <= now)
        .order_by(Issue.scheduled_at, Issue.id)
    ).all()
    started = []
    for issue_id in due:
        issue = db.session.get(Issue, issue_id)
        if issue is None:
            continue  # deleted since we looked
        try:
            send_issue(issue, "scheduler", dispatch=can_dispatch())
        except IssueStateError:
            # Changed or started by someone else since we looked: nothing to do.
            db.session.rollback()
            continue
        except ValidationError as error:
            # Its text cannot be sent as it is: back to draft, for a person to correct.
            db.session.rollback()
            unschedule_issue(issue, actor="scheduler")
            logger.warning("scheduled issue %s not started: %s", issue_id, error)
            continue
        started.append(issue_id)
    return started
