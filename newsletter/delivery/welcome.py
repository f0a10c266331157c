"""A list's welcome message: an issue of kind `welcome`, sent once to each person confirmed.

The welcome message is an `Issue` (kind `welcome`, `welcome_list_id` its list), so the editor,
layouts, placeholders, preview and test send are the issue's own code, and so is sending: each
person welcomed gets one `delivery` row, and the rows go out in `send_issue_batch` batches like
any issue's (claim, checks of subscription and suppression, headers, one-click unsubscribe,
VERP return path, bounce handling, retries, the sweep).

Its status is its switch: `draft` until first turned on, `sending` while on, `paused` while
off. It never becomes `sent` (`ledger.finish_if_done` leaves it alone).

Who gets one: the people with a `confirmed` or `resubscribed` consent event for its list
recorded since it was turned on (`welcome_since`) who are confirmed on it now; that covers the
confirmation link, a single-opt-in sign-up, an admin adding a confirmed person and a rejoin.
`queue_welcomes` writes their rows and is run by the delivery sweep every tick (so a lost
message or a crash between a confirmation and its row only delays the welcome) and at once by
the `queue_welcomes` actor that a confirmation enqueues. Imports welcome only when the admin
asked (`import_job.send_welcome`): `queue_for_import` writes the rows of the people the job
left confirmed, once per job (`welcome_queued_at`).

Once ever: the ledger's unique (issue, subscriber) makes a second row for the same person and
list impossible, whether they confirm twice or leave and rejoin years later.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from newsletter.audit import Actor, record
from newsletter.compose.issues import IssueStateError, may_send, move
from newsletter.delivery import ledger
from newsletter.delivery.types import DELIVERY
from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentEvent,
    DeliveryStatus,
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
from newsletter.models.base import changed_rows, utcnow

# Consent events that mean "this person's subscription to the list was just confirmed".
JOINED = (ConsentAction.CONFIRMED, ConsentAction.RESUBSCRIBED)
# The sweep reads back this far before where it stopped last: a confirmation stamped before
# its transaction committed is still seen.
OVERLAP = timedelta(minutes=10)
DEFAULT_BODY = (
    "Hello {{ subscriber.name }},\n\n"
    "Thank you for joining {{ list.name }}. You will hear from us when the next issue is out.\n"
)


class WelcomeError(IssueStateError):
    """The welcome message cannot do what was asked in its current state."""


def welcome_of(mailing_list: MailingList) -> Issue | None:
    """The list's welcome message, if one was written."""
    return db.session.scalar(sa.select(Issue).where(Issue.welcome_list_id == mailing_list.id))


def is_on(issue: Issue | None) -> bool:
    return issue is not None and issue.status == IssueStatus.SENDING


def create_welcome(mailing_list: MailingList, actor: Actor) -> Issue:
    """The list's welcome message as a draft (off) to edit; the existing one if there is one."""
    existing = welcome_of(mailing_list)
    if existing is not None:
        return existing
    issue = Issue(
        kind=IssueKind.WELCOME,
        welcome_list_id=mailing_list.id,
        subject=f"Welcome to {mailing_list.name}"[:255],
        body_markdown=DEFAULT_BODY,
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=[IssueList(list_id=mailing_list.id, mailing_list=mailing_list, position=0)],
    )
    db.session.add(issue)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # written by someone else at the same moment
        found = welcome_of(mailing_list)
        assert found is not None
        return found
    record("welcome.created", target=f"list:{mailing_list.slug}", detail={"issue": issue.id},
           actor=actor)  # fmt: skip
    db.session.commit()
    return issue


def _check_may_switch(actor: Actor) -> None:
    if isinstance(actor, Account) and not may_send(actor):
        raise WelcomeError("only someone who may send issues can turn a welcome message on or off")


def turn_on(issue: Issue, actor: Actor) -> None:
    """Start welcoming each person confirmed from now on (not those confirmed before)."""
    _check_may_switch(actor)
    now = utcnow()
    move(
        issue, (IssueStatus.DRAFT, IssueStatus.PAUSED), " and cannot be turned on",
        status=IssueStatus.SENDING, welcome_since=now, welcome_checked_at=now,
        started_at=sa.func.coalesce(Issue.started_at, now), pause_reason=None,
    )  # fmt: skip
    record("welcome.turned_on", target=f"issue:{issue.id}", actor=actor)
    db.session.commit()
    db.session.refresh(issue)


def turn_off(issue: Issue, actor: Actor) -> int:
    """Stop welcoming; rows still queued are cancelled (a welcome weeks late is no welcome)."""
    _check_may_switch(actor)
    move(issue, (IssueStatus.SENDING,), " and is not on", status=IssueStatus.PAUSED)
    cancelled = changed_rows(
        db.session.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.issue_id == issue.id, DELIVERY.c.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.CANCELLED)
        )
    )
    record("welcome.turned_off", target=f"issue:{issue.id}", detail={"cancelled": cancelled},
           actor=actor)  # fmt: skip
    db.session.commit()
    db.session.refresh(issue)
    return cancelled


def _write(issue: Issue, subscriber_ids: sa.Select) -> int:
    """A queued row for each person in `subscriber_ids` who has none for this welcome yet."""
    subscriber = Subscriber.__table__
    rows = (
        sa.select(
            sa.literal(issue.id), subscriber.c.id, subscriber.c.email,
            sa.literal(DeliveryStatus.QUEUED.value), sa.literal(0),
        )
        .where(
            subscriber.c.id.in_(subscriber_ids),
            ~sa.exists().where(
                DELIVERY.c.issue_id == issue.id, DELIVERY.c.subscriber_id == subscriber.c.id
            ),
        )
        .order_by(subscriber.c.id)
    )  # fmt: skip
    insert = sa.insert(DELIVERY).from_select(
        ["issue_id", "subscriber_id", "email", "status", "attempts"], rows
    )
    # An INSERT's row count is kept only when asked for (psycopg reports it; SQLAlchemy drops it).
    result = db.session.execute(insert.execution_options(preserve_rowcount=True))
    return max(changed_rows(result), 0)


def _confirmed_on(list_id: int) -> sa.ColumnElement[bool]:
    subscription = Subscription.__table__
    return sa.exists().where(
        subscription.c.subscriber_id == Subscriber.__table__.c.id,
        subscription.c.list_id == list_id,
        subscription.c.status == SubscriptionStatus.CONFIRMED,
    )


def joined_since(issue: Issue, start) -> sa.Select:
    """People confirmed on the welcome's list now, with a joining event recorded since `start`."""
    event, subscriber = ConsentEvent.__table__, Subscriber.__table__
    assert issue.welcome_list_id is not None
    recent = sa.select(event.c.subscriber_id).where(
        event.c.recorded_at >= start,
        event.c.list_id == issue.welcome_list_id,
        event.c.action.in_(JOINED),
    )
    return sa.select(subscriber.c.id).where(
        subscriber.c.id.in_(recent), _confirmed_on(issue.welcome_list_id)
    )


def queue_welcomes(issue: Issue) -> int:
    """Write the rows of everyone confirmed since the sweep last looked; commits; how many.

    Two runs at once (the sweep and the actor) may both try a person: the unique (issue,
    subscriber) refuses the second, which then leaves it to the first.
    """
    if not is_on(issue) or issue.welcome_since is None:
        return 0
    now = utcnow()
    checked = issue.welcome_checked_at or issue.welcome_since
    start = max(issue.welcome_since, checked - OVERLAP)
    try:
        written = _write(issue, joined_since(issue, start))
        issue.welcome_checked_at = now
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return written


def queue_for_import(job: ImportJob) -> int:
    """Welcome everyone `job` left confirmed on its list, once per job, if its welcome is on."""
    if not job.send_welcome or job.dry_run or job.welcome_queued_at is not None:
        return 0
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    issue = welcome_of(mailing_list) if mailing_list is not None else None
    written = 0
    try:
        if is_on(issue):
            assert issue is not None and mailing_list is not None
            event = ConsentEvent.__table__
            imported = sa.select(event.c.subscriber_id).where(
                event.c.import_job_id == job.id,
                event.c.list_id == mailing_list.id,
                event.c.action == ConsentAction.IMPORTED,
            )
            subscriber = Subscriber.__table__
            written = _write(
                issue,
                sa.select(subscriber.c.id).where(
                    subscriber.c.id.in_(imported), _confirmed_on(mailing_list.id)
                ),
            )
            record("welcome.import_queued", target=f"list:{mailing_list.slug}",
                   detail={"job": job.id, "recipients": written}, actor="system")  # fmt: skip
        job.welcome_queued_at = utcnow()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return written


def queue_due(list_id: int | None = None) -> int:
    """Every welcome that is on (or the one of `list_id`): write due rows, enqueue batches.

    Run by the delivery sweep each tick and by the `queue_welcomes` actor; idempotent.
    """
    welcomes = sa.select(Issue).where(
        Issue.kind == IssueKind.WELCOME, Issue.status == IssueStatus.SENDING
    )
    jobs = sa.select(ImportJob).where(
        ImportJob.send_welcome.is_(True),
        ImportJob.dry_run.is_(False),
        ImportJob.status == ImportStatus.DONE,
        ImportJob.welcome_queued_at.is_(None),
    )
    if list_id is not None:
        welcomes = welcomes.where(Issue.welcome_list_id == list_id)
        jobs = jobs.where(ImportJob.list_id == list_id)
    imported = sum(queue_for_import(job) for job in list(db.session.scalars(jobs)))
    written = imported
    for issue in list(db.session.scalars(welcomes)):
        count = queue_welcomes(issue)
        written += count
        if count or imported:
            ledger.enqueue_batches(issue)
    db.session.commit()
    return written


def sent_count(issue: Issue) -> dict[str, int]:
    """The welcome's rows by state (folded ones included): how many were welcomed."""
    return ledger.outcome_counts([issue.id])[issue.id]


def welcome_window_note(issue: Issue) -> str:
    """A sentence for the admin about who gets it."""
    if issue.status == IssueStatus.SENDING:
        return "On: each person confirmed on this list from now on gets it once."
    if issue.status == IssueStatus.PAUSED:
        reason = f" {issue.pause_reason}" if issue.pause_reason else ""
        return f"Off: nobody is sent it.{reason}"
    return "Not turned on yet: nobody is sent it."
