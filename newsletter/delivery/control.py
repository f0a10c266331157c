"""An issue's send, from the outside: start, pause, resume, cancel, progress, and each batch.

Drafts are written in newsletter/compose/issues.py; from the moment an issue is sent, what
happens to it is here. Functions here commit and write the audit log; the CLI, the admin, the
scheduler and the workers call them. Status only moves forward: scheduled (or draft) →
sending ⇄ paused → sent, or cancelled from any unfinished state.

`run_batch` is what the actor (workers/delivery.py) and `issues send --wait` run for one
batch: the batch (sender.py) sends and reports, and a pause it asks for is made here.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from newsletter.audit import Actor, record
from newsletter.background.broker import EMBEDDED_WORKER
from newsletter.compose.issues import EDITABLE, IssueStateError, check_content, move
from newsletter.delivery import ledger
from newsletter.delivery.sender import send_batch
from newsletter.delivery.types import DELIVERY, BatchResult, Progress
from newsletter.extensions import db
from newsletter.models import Account, DeliveryStatus, Issue, IssueKind, IssueStatus
from newsletter.models.base import changed_rows, utcnow


def can_dispatch() -> bool:
    """True when enqueued batches will be consumed: Redis, or this process's own worker."""
    app = current_app
    return bool(app.config.get("REDIS_URL")) or bool(app.extensions.get(EMBEDDED_WORKER))


def refuse_welcome(issue: Issue) -> None:
    """A welcome message is turned on and off from its list's page, never sent to a list."""
    if issue.kind == IssueKind.WELCOME:
        raise IssueStateError(
            f"issue {issue.id} is a list's welcome message: turn it on or off on the list's page"
        )


def _account_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, Account) else None


def send_issue(issue: Issue, actor: Actor, dispatch: bool) -> int:
    """Write the ledger and start sending; returns the number of recipients.

    With `dispatch`, batches go on the queue now; without it (no REDIS_URL and no worker in
    this process) the work is only recorded, and the sweep of a running `serve` enqueues it.
    """
    refuse_welcome(issue)
    if issue.status == IssueStatus.PAUSED:
        raise IssueStateError(f"issue {issue.id} is paused; use `resume` to carry on sending it")
    if issue.status not in EDITABLE:
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}; only a draft is sent")
    # A draft written before placeholders were checked must not reach the workers unchecked.
    check_content(issue.subject, issue.body_markdown)
    # Who sent it: the account, or for the scheduler the account that scheduled it.
    sender = {} if actor == "scheduler" else {"sent_by_id": _account_id(actor)}
    # Take the issue with a conditional update, so two clicks cannot write two ledgers.
    taken = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue.id, Issue.status.in_(EDITABLE))
        .values(status=IssueStatus.SENDING, started_at=utcnow(), enqueued_at=None, **sender)
    )
    if changed_rows(taken) != 1:
        db.session.rollback()
        raise IssueStateError(f"issue {issue.id} is being sent already")
    recipients = ledger.write_ledger(issue)
    record("issue.sent", target=f"issue:{issue.id}", detail={"recipients": recipients}, actor=actor)
    db.session.commit()
    ledger.dispatch_written(issue, recipients, dispatch)
    return recipients


def run_batch(issue_id: int, first_id: int, last_id: int) -> BatchResult:
    """Send one batch of the issue's ledger and make the pause it asks for, if any."""
    result = send_batch(issue_id, first_id, last_id)
    if result.pause_reason is not None:
        pause_issue(issue_id, actor="system", reason=result.pause_reason)
    return result


def pause_issue(issue_id: int, actor: Actor, reason: str | None = None) -> bool:
    """Pause a sending issue (batches stop within a few messages); False if not sending."""
    paused = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue_id, Issue.status == IssueStatus.SENDING)
        .values(status=IssueStatus.PAUSED, pause_reason=reason)
    )
    if changed_rows(paused) != 1:
        db.session.rollback()
        return False
    detail = {"reason": reason} if reason else {}
    record("issue.paused", target=f"issue:{issue_id}", detail=detail, actor=actor)
    db.session.commit()
    return True


def pause(issue: Issue, actor: Actor) -> None:
    refuse_welcome(issue)
    if not pause_issue(issue.id, actor):
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}, not sending")
    db.session.refresh(issue)


def resume(issue: Issue, actor: Actor, dispatch: bool) -> None:
    """Carry on sending a paused issue."""
    refuse_welcome(issue)
    move(
        issue, (IssueStatus.PAUSED,), ", not paused",
        status=IssueStatus.SENDING, pause_reason=None, enqueued_at=None,
    )  # fmt: skip
    record("issue.resumed", target=f"issue:{issue.id}", actor=actor)
    db.session.commit()
    db.session.refresh(issue)
    if dispatch:
        ledger.enqueue_batches(issue)


def cancel(issue: Issue, actor: Actor) -> int:
    """Cancel an unfinished issue: rows not yet sent become `cancelled`; returns how many."""
    refuse_welcome(issue)
    unfinished = (IssueStatus.DRAFT, IssueStatus.SCHEDULED, IssueStatus.SENDING, IssueStatus.PAUSED)
    move(
        issue, unfinished, " and cannot be cancelled",
        status=IssueStatus.CANCELLED, finished_at=utcnow(),
    )  # fmt: skip
    rows = changed_rows(
        db.session.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.issue_id == issue.id, DELIVERY.c.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.CANCELLED)
        )
    )
    record("issue.cancelled", target=f"issue:{issue.id}", detail={"rows": rows}, actor=actor)
    db.session.commit()
    db.session.refresh(issue)
    return rows


def progress(issue: Issue) -> Progress:
    """How far the issue has gone (ledger.progress)."""
    return ledger.progress(issue)
