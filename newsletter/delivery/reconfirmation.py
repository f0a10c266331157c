"""Reconfirmation: asking the people an import left pending to confirm, once, as an issue.

An import run with `--consent reconfirm` leaves its people pending. The admin's deliberate
action (`start_reconfirmation`) makes an issue of kind `reconfirmation` whose ledger holds
those people (`awaiting_reconfirmation`), and the delivery engine sends it like any issue:
paced, pausable, crash-safe. Its message (`message.ReconfirmationMessage`) is the system
confirmation mail (templates/email/confirmation.*) in the one MIME skeleton: from MAIL_FROM_SYSTEM,
`Auto-Submitted: auto-generated`, no List-Unsubscribe (confirming is the only thing the link
does; ignoring the mail leaves the person unsubscribed). Each request sent is noted on the
person as a confirmation mail is (`store_base.mark_confirmation_sent`), so the sign-up rules
on how often a person is asked hold for both.

It lives with the delivery engine rather than with imports because everything it does after
the admin's click is the engine's: its ledger, its batches, its message and its writes
(`store_base.mark_confirmation_sent`).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from newsletter.audit import Actor, record
from newsletter.compose.issues import IssueStateError
from newsletter.delivery import ledger
from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentEvent,
    ConsentMode,
    ImportJob,
    ImportStatus,
    Issue,
    IssueKind,
    IssueList,
    IssueStatus,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import (
    confirmation_subject,
    list_may_be_named_sql,
    under_address_cap_sql,
)


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


def awaiting_reconfirmation(job: ImportJob) -> sa.Select:
    """The ids of the people `job` left pending on its list who can be asked to confirm now.

    Pending on the job's list, with an `imported` consent event of this job for it (the import
    wrote one for each person it subscribed), the list not named in a confirmation mail within
    CONFIRMATION_INTERVAL and the address under its cap (the rules of sign-ups,
    newsletter/subscriptions/confirmation.py). Suppression is checked apart.
    """
    subscription, subscriber = Subscription.__table__, Subscriber.__table__
    event = ConsentEvent.__table__
    now = utcnow()
    return sa.select(subscription.c.subscriber_id).where(
        subscription.c.list_id == job.list_id,
        subscription.c.status == SubscriptionStatus.PENDING,
        list_may_be_named_sql(subscription, now),
        sa.exists().where(
            event.c.subscriber_id == subscription.c.subscriber_id,
            event.c.list_id == job.list_id,
            event.c.action == ConsentAction.IMPORTED,
            event.c.import_job_id == job.id,
        ),
        sa.exists().where(
            subscriber.c.id == subscription.c.subscriber_id, under_address_cap_sql(subscriber, now)
        ),
    )


def count_awaiting_reconfirmation(job: ImportJob) -> int:
    """How many people a reconfirmation of `job` would write to now (the suppressed left out)."""
    return ledger.count_mailable(awaiting_reconfirmation(job))


def start_reconfirmation(job: ImportJob, actor: Actor, dispatch: bool) -> Issue:
    """Ask each person `job` left pending, once, to confirm: an issue of kind reconfirmation.

    Its ledger holds awaiting_reconfirmation(job), the suppressed taken out; the delivery
    engine sends it (paced, pausable, crash-safe) and it can be paused, resumed and cancelled
    like any issue. A second call, or a second click, is refused: the issue's import_job_id is
    unique.
    """
    check_reconfirmable(job)
    mailing_list = db.session.get(MailingList, job.list_id)
    if mailing_list is None:
        raise IssueStateError(f"the list of import {job.id} no longer exists")
    issue = Issue(
        kind=IssueKind.RECONFIRMATION,
        import_job_id=job.id,
        subject=confirmation_subject(current_app.config["ORG_NAME"]),
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
    recipients = ledger.write_rows(issue, awaiting_reconfirmation(job))
    record(
        "import.reconfirmation_sent",
        target=f"list:{mailing_list.slug}",
        detail={"job": job.id, "issue": issue.id, "recipients": recipients},
        actor=actor,
    )
    db.session.commit()
    ledger.dispatch_written(issue, recipients, dispatch)
    return issue
