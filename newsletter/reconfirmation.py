"""Asking the people an import left pending to confirm, once, through the delivery engine."""

from __future__ import annotations

import sqlalchemy as sa

from newsletter.audit import record
from newsletter.delivery import ledger
from newsletter.extensions import db
from newsletter.issues import Actor, IssueStateError, dispatch_written
from newsletter.models import (
    Account,
    ConsentMode,
    ImportJob,
    ImportStatus,
    Issue,
    IssueKind,
    IssueList,
    IssueStatus,
    MailingList,
)
from newsletter.models.base import utcnow


def reconfirmation_of(job: ImportJob) -> Issue | None:
    """The reconfirmation started for an import job, if any (there is at most one)."""
    return db.session.scalar(sa.select(Issue).where(Issue.import_job_id == job.id))


def check_reconfirmable(job: ImportJob) -> None:
    """Refuse a job whose people cannot be asked: not `reconfirm`, unfinished, list gone, asked."""
    if job.consent_mode != ConsentMode.RECONFIRM:
        raise IssueStateError(f"import {job.id} kept consent: nobody from it is pending")
    if job.status != ImportStatus.DONE:
        raise IssueStateError(f"import {job.id} has not finished: wait until it is done")
    if job.list_id is None:
        raise IssueStateError(f"the list of import {job.id} has been deleted")
    if reconfirmation_of(job) is not None:
        raise IssueStateError(f"the people of import {job.id} have been asked already")


def start_reconfirmation(job: ImportJob, actor: Actor, dispatch: bool) -> Issue:
    """Ask each person `job` left pending, once, to confirm: an issue of kind reconfirmation.

    Its ledger holds ledger.awaiting_reconfirmation(job), the suppressed taken out; the
    delivery engine sends it (paced, pausable, crash-safe) and it can be paused, resumed and
    cancelled like any issue. A second call, or a second click, is refused: the issue's
    import_job_id is unique.
    """
    from sqlalchemy.exc import IntegrityError

    from newsletter.delivery.reconfirm import confirmation_subject

    check_reconfirmable(job)
    mailing_list = db.session.get(MailingList, job.list_id)
    issue = Issue(
        kind=IssueKind.RECONFIRMATION,
        import_job_id=job.id,
        subject=confirmation_subject(),
        body_markdown="",
        status=IssueStatus.SENDING,
        started_at=utcnow(),
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=[IssueList(list_id=mailing_list.id, mailing_list=mailing_list, position=0)],
    )
    db.session.add(issue)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise IssueStateError(f"the people of import {job.id} have been asked already") from None
    recipients = ledger.write_reconfirmation_ledger(issue, job)
    record(
        "import.reconfirmation_sent",
        target=f"list:{mailing_list.slug}",
        detail={"job": job.id, "issue": issue.id, "recipients": recipients},
        actor=actor,
    )
    db.session.commit()
    dispatch_written(issue, recipients, dispatch)
    return issue
