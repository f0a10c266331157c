"""Newsletter issues: create, send, pause, resume, cancel, and how far they have got.

Functions here commit and write the audit log; the CLI, the admin and the workers call them.
Status only moves forward: draft → sending ⇄ paused → sent, or cancelled from any unfinished
state.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from newsletter.audit import record
from newsletter.delivery import ledger
from newsletter.errors import NewsletterError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.lists import get_list
from newsletter.models import Account, DeliveryStatus, Issue, IssueList, IssueStatus
from newsletter.models.base import utcnow

MAX_SUBJECT_LENGTH = 255
Actor = Account | str | None


class IssueStateError(NewsletterError):
    """The action does not fit the issue's current state."""


def check_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError("Enter a subject")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationError(f"Subject must be {MAX_SUBJECT_LENGTH} characters or fewer")
    return subject


def create_issue(subject: str, body_markdown: str, list_slugs: list[str], actor: Actor) -> Issue:
    """A draft issue for the lists named, in order (the first is the primary list)."""
    subject = check_subject(subject)
    slugs = list(dict.fromkeys(list_slugs))
    if not slugs:
        raise ValidationError("Choose at least one list")
    lists = [get_list(slug) for slug in slugs]
    issue = Issue(
        subject=subject,
        body_markdown=body_markdown or "",
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=[
            IssueList(list_id=ml.id, mailing_list=ml, position=n) for n, ml in enumerate(lists)
        ],
    )
    db.session.add(issue)
    db.session.flush()
    record("issue.created", target=f"issue:{issue.id}", detail={"lists": slugs}, actor=actor)
    db.session.commit()
    return issue


def get_issue(issue_id: int) -> Issue:
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise NotFoundError(f"no issue with the id {issue_id}")
    return issue


def all_issues() -> list[Issue]:
    return list(db.session.scalars(sa.select(Issue).order_by(Issue.id.desc())))


def send_issue(issue: Issue, actor: Actor, dispatch: bool) -> int:
    """Write the ledger and start sending; returns the number of recipients.

    With `dispatch`, batches go on the queue now; without it (no REDIS_URL and no worker in
    this process) the work is only recorded, and the sweep of a running `serve` enqueues it.
    """
    if issue.status == IssueStatus.PAUSED:
        raise IssueStateError(f"issue {issue.id} is paused; use `resume` to carry on sending it")
    if issue.status != IssueStatus.DRAFT:
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}; only a draft is sent")
    # Take the issue with a conditional update, so two clicks cannot write two ledgers.
    taken = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue.id, Issue.status == IssueStatus.DRAFT)
        .values(status=IssueStatus.SENDING, started_at=utcnow(), enqueued_at=None)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        raise IssueStateError(f"issue {issue.id} is being sent already")
    recipients = ledger.write_ledger(issue)
    record("issue.sent", target=f"issue:{issue.id}", detail={"recipients": recipients}, actor=actor)
    db.session.commit()
    db.session.refresh(issue)
    if recipients == 0:
        from newsletter.delivery.outcomes import finish_if_done

        finish_if_done(issue.id)
    elif dispatch:
        ledger.enqueue_batches(issue)
    db.session.refresh(issue)
    return recipients


def can_dispatch() -> bool:
    """True when enqueued batches will be consumed: Redis, or this process's own worker."""
    from newsletter.runtime import EMBEDDED_WORKER

    app = current_app
    return bool(app.config.get("REDIS_URL")) or bool(app.extensions.get(EMBEDDED_WORKER))


def pause_issue(issue_id: int, actor: Actor, reason: str | None = None) -> bool:
    """Pause a sending issue (batches stop within a few messages); False if not sending."""
    paused = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue_id, Issue.status == IssueStatus.SENDING)
        .values(status=IssueStatus.PAUSED, pause_reason=reason)
    )
    if paused.rowcount != 1:
        db.session.rollback()
        return False
    detail = {"reason": reason} if reason else {}
    record("issue.paused", target=f"issue:{issue_id}", detail=detail, actor=actor)
    db.session.commit()
    return True


def pause(issue: Issue, actor: Actor) -> None:
    if not pause_issue(issue.id, actor):
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}, not sending")
    db.session.refresh(issue)


def resume(issue: Issue, actor: Actor, dispatch: bool) -> None:
    """Carry on sending a paused issue."""
    resumed = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue.id, Issue.status == IssueStatus.PAUSED)
        .values(status=IssueStatus.SENDING, pause_reason=None, enqueued_at=None)
    )
    if resumed.rowcount != 1:
        db.session.rollback()
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}, not paused")
    record("issue.resumed", target=f"issue:{issue.id}", actor=actor)
    db.session.commit()
    db.session.refresh(issue)
    if dispatch:
        ledger.enqueue_batches(issue)


def cancel(issue: Issue, actor: Actor) -> int:
    """Cancel an unfinished issue: rows not yet sent become `cancelled`; returns how many."""
    unfinished = (IssueStatus.DRAFT, IssueStatus.SCHEDULED, IssueStatus.SENDING, IssueStatus.PAUSED)
    cancelled = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue.id, Issue.status.in_(unfinished))
        .values(status=IssueStatus.CANCELLED, finished_at=utcnow())
    )
    if cancelled.rowcount != 1:
        db.session.rollback()
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value} and cannot be cancelled")
    rows = db.session.execute(
        sa.update(ledger.DELIVERY)
        .where(
            ledger.DELIVERY.c.issue_id == issue.id,
            ledger.DELIVERY.c.status == DeliveryStatus.QUEUED,
        )
        .values(status=DeliveryStatus.CANCELLED)
    ).rowcount
    record("issue.cancelled", target=f"issue:{issue.id}", detail={"rows": rows}, actor=actor)
    db.session.commit()
    db.session.refresh(issue)
    return rows


def progress(issue: Issue) -> ledger.Progress:
    return ledger.progress(issue)
