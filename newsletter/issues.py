"""Newsletter issues: create, edit, send, pause, resume, cancel, progress, and who may send.

Scheduling is in newsletter.scheduling, asking an import's pending people to confirm in
newsletter.reconfirmation. Functions here commit and write the audit log; the CLI, the admin
and the workers call them.
Status only moves forward: draft ⇄ scheduled → sending ⇄ paused → sent, or cancelled from any
unfinished state (cancelling a schedule is the one step back, to draft).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from newsletter.audit import record
from newsletter.delivery import ledger
from newsletter.errors import NewsletterError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.lists import get_list
from newsletter.models import (
    Account,
    DeliveryStatus,
    Issue,
    IssueKind,
    IssueList,
    IssueStatus,
)
from newsletter.models.base import utcnow
from newsletter.settings import get_setting, set_setting

MAX_SUBJECT_LENGTH = 255
MAX_PREHEADER_LENGTH = 255
Actor = Account | str | None
EDITABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)
# app_setting key: "1" lets editors send, schedule, pause and cancel as admins do.
EDITORS_MAY_SEND = "editors_may_send"


class IssueStateError(NewsletterError):
    """The action does not fit the issue's current state."""


def move(issue: Issue, allowed: tuple[IssueStatus, ...], refusal: str, **values) -> None:
    """Set `values` on the issue if its status is one of `allowed`, else refuse.

    A conditional UPDATE, so two clicks or two processes cannot both make the same move. A
    refusal rolls back and raises IssueStateError "issue N is <its status now><refusal>".
    """
    moved = db.session.execute(
        sa.update(Issue).where(Issue.id == issue.id, Issue.status.in_(allowed)).values(**values)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}{refusal}")


def check_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError("Enter a subject")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationError(f"Subject must be {MAX_SUBJECT_LENGTH} characters or fewer")
    return subject


def check_preheader(preheader: str) -> str:
    preheader = " ".join((preheader or "").split())
    if len(preheader) > MAX_PREHEADER_LENGTH:
        raise ValidationError(f"Preheader must be {MAX_PREHEADER_LENGTH} characters or fewer")
    return preheader


def check_content(subject: str, body_markdown: str) -> None:
    """Refuse a subject or body that uses anything but the fixed placeholders."""
    from newsletter.compose.placeholders import check_template

    check_template(subject, "Subject")
    check_template(body_markdown or "", "Body")


def _issue_lists(list_slugs: list[str]) -> list[IssueList]:
    slugs = list(dict.fromkeys(list_slugs))
    if not slugs:
        raise ValidationError("Choose at least one list")
    lists = [get_list(slug) for slug in slugs]
    return [IssueList(list_id=ml.id, mailing_list=ml, position=n) for n, ml in enumerate(lists)]


def _check_layout(layout: str) -> str:
    from newsletter.compose.render import LAYOUTS

    if layout not in LAYOUTS:
        raise ValidationError("Choose a layout")
    return layout


def create_issue(
    subject: str,
    body_markdown: str,
    list_slugs: list[str],
    actor: Actor,
    preheader: str = "",
    layout: str = "default",
) -> Issue:
    """A draft issue for the lists named, in order (the first is the primary list)."""
    subject = check_subject(subject)
    check_content(subject, body_markdown)
    issue = Issue(
        subject=subject,
        body_markdown=body_markdown or "",
        preheader=check_preheader(preheader),
        layout=_check_layout(layout),
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=_issue_lists(list_slugs),
    )
    db.session.add(issue)
    db.session.flush()
    slugs = [link.mailing_list.slug for link in issue.issue_lists]
    record("issue.created", target=f"issue:{issue.id}", detail={"lists": slugs}, actor=actor)
    db.session.commit()
    return issue


def update_issue(
    issue: Issue,
    subject: str,
    body_markdown: str,
    list_slugs: list[str],
    actor: Actor,
    preheader: str = "",
    layout: str = "default",
) -> Issue:
    """Change a draft (or scheduled) issue; refused once sending has started."""
    subject = check_subject(subject)
    check_content(subject, body_markdown)
    links = _issue_lists(list_slugs)
    preheader, layout = check_preheader(preheader), _check_layout(layout)
    # Lock the row for the edit, so a send starting at the same moment waits or wins first.
    current = db.session.execute(
        sa.select(Issue.status).where(Issue.id == issue.id).with_for_update()
    ).scalar_one()
    if current not in EDITABLE:
        db.session.rollback()
        raise IssueStateError(f"issue {issue.id} is {current.value}; only a draft can be changed")
    issue.subject, issue.body_markdown = subject, body_markdown or ""
    issue.preheader, issue.layout = preheader, layout
    issue.issue_lists.clear()
    db.session.flush()
    issue.issue_lists.extend(links)
    slugs = [link.mailing_list.slug for link in links]
    record("issue.updated", target=f"issue:{issue.id}", detail={"lists": slugs}, actor=actor)
    db.session.commit()
    return issue


def get_issue(issue_id: int) -> Issue:
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise NotFoundError(f"no issue with the id {issue_id}")
    return issue


def all_issues() -> list[Issue]:
    """The newsletters, newest first (reconfirmations live on their import's page)."""
    return list(
        db.session.scalars(
            sa.select(Issue).where(Issue.kind == IssueKind.ISSUE).order_by(Issue.id.desc())
        )
    )


def send_issue(issue: Issue, actor: Actor, dispatch: bool) -> int:
    """Write the ledger and start sending; returns the number of recipients.

    With `dispatch`, batches go on the queue now; without it (no REDIS_URL and no worker in
    this process) the work is only recorded, and the sweep of a running `serve` enqueues it.
    """
    if issue.status == IssueStatus.PAUSED:
        raise IssueStateError(f"issue {issue.id} is paused; use `resume` to carry on sending it")
    if issue.status not in EDITABLE:
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}; only a draft is sent")
    # A draft written before placeholders were checked must not reach the workers unchecked.
    check_content(issue.subject, issue.body_markdown)
    # Take the issue with a conditional update, so two clicks cannot write two ledgers.
    taken = db.session.execute(
        sa.update(Issue)
        .where(Issue.id == issue.id, Issue.status.in_(EDITABLE))
        .values(status=IssueStatus.SENDING, started_at=utcnow(), enqueued_at=None)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        raise IssueStateError(f"issue {issue.id} is being sent already")
    recipients = ledger.write_ledger(issue)
    record("issue.sent", target=f"issue:{issue.id}", detail={"recipients": recipients}, actor=actor)
    db.session.commit()
    dispatch_written(issue, recipients, dispatch)
    return recipients


def dispatch_written(issue: Issue, recipients: int, dispatch: bool) -> None:
    """After the ledger is committed: finish at once if empty, else enqueue (with `dispatch`)."""
    db.session.refresh(issue)
    if recipients == 0:
        from newsletter.delivery.outcomes import finish_if_done

        finish_if_done(issue.id)
    elif dispatch:
        ledger.enqueue_batches(issue)
    db.session.refresh(issue)


def editors_may_send() -> bool:
    return get_setting(EDITORS_MAY_SEND) == "1"


def set_editors_may_send(allowed: bool, actor: Actor) -> None:
    """Let editors (or only admins) send, schedule, pause and cancel."""
    record("settings.editors_may_send", detail={"allowed": allowed}, actor=actor)
    set_setting(EDITORS_MAY_SEND, "1" if allowed else "0")


def may_send(account: Account) -> bool:
    """True when the account may send, schedule, pause, resume and cancel issues."""
    return account.is_admin or editors_may_send()


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
    unfinished = (IssueStatus.DRAFT, IssueStatus.SCHEDULED, IssueStatus.SENDING, IssueStatus.PAUSED)
    move(
        issue, unfinished, " and cannot be cancelled",
        status=IssueStatus.CANCELLED, finished_at=utcnow(),
    )  # fmt: skip
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
