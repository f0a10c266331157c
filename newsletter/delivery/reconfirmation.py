"""Reconfirmation: asking the people an import left pending to confirm, once, as an issue.

An import run with `--consent reconfirm` leaves its people pending. The admin's deliberate
action (`start_reconfirmation`) makes an issue of kind `reconfirmation` whose ledger holds
those people (`awaiting_reconfirmation`), and the delivery engine sends it like any issue:
paced, pausable, crash-safe. Its message is the system confirmation mail
(templates/email/confirmation.*) in the one MIME skeleton: from MAIL_FROM_SYSTEM,
`Auto-Submitted: auto-generated`, no List-Unsubscribe (confirming is the only thing the link
does; ignoring the mail leaves the person unsubscribed). Each request sent is noted on the
person as a confirmation mail is (`mark_confirmation_sent`), so the sign-up rules on how often
a person is asked hold for both.

It lives with the delivery engine rather than with imports because everything it does after
the admin's click is the engine's: its ledger, its batches, its message and its writes.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

import sqlalchemy as sa
from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError

from newsletter.audit import Actor, record
from newsletter.compose.issues import IssueStateError
from newsletter.delivery import ledger
from newsletter.delivery.message import TOKEN_PLACEHOLDER, URL_PLACEHOLDER
from newsletter.delivery.types import DELIVERY
from newsletter.extensions import db
from newsletter.mail.addresses import recipient_header, sender_domain, sender_header, text_header
from newsletter.mail.message import Skeleton, fold
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentEvent,
    ConsentMode,
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
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import (
    confirmation_subject,
    counted_mail_sql,
    list_may_be_named_sql,
    under_address_cap_sql,
)
from newsletter.subscriptions.links import ConfirmLinkSigner
from newsletter.suppression import hasher
from newsletter.urls import external_url

# The confirm link fills the slot the unsubscribe link has in an issue (letters and digits).
CONFIRM_MARKER = URL_PLACEHOLDER


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
    subscriber = Subscriber.__table__
    keys = db.session.scalars(
        sa.select(subscriber.c.email_key).where(subscriber.c.id.in_(awaiting_reconfirmation(job)))
    )
    suppressed = ledger.standing_suppressions()
    if not suppressed:
        return sum(1 for _ in keys)
    hash_key = hasher()
    return sum(1 for email_key in keys if hash_key(email_key) not in suppressed)


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


class ReconfirmationMessage:
    """The confirmation request for many people: `for_recipient` returns CRLF bytes to send.

    The same signature as `IssueMessage.for_recipient`; `token` is the person's unsubscribe
    token, whose fingerprint the confirm token signs (`subscriptions.link_payload`).
    """

    def __init__(self, issue: Issue, date: datetime) -> None:
        config = current_app.config
        sender = config["MAIL_FROM_SYSTEM"]
        domain = sender_domain(sender)
        context = {
            "org_name": config["ORG_NAME"],
            "org_address": config["ORG_ADDRESS"],
            "lists": issue.lists,
            "confirm_url": CONFIRM_MARKER,
            "reconfirmation": True,
        }
        self.confirm_url = external_url("public.confirm", token=TOKEN_PLACEHOLDER)
        # The link names the issue's list: it confirms that and nothing asked for later.
        self.confirm_links = ConfirmLinkSigner((link.list_id for link in issue.issue_lists), date)
        self.message_id_suffix = f".r{issue.id}.{int(date.timestamp())}@{domain}>\r\n"
        headers = b"".join(
            (
                sender_header("From", sender),
                text_header("Subject", issue.subject),
                fold("Date", format_datetime(date)),
            )
        )
        self.skeleton = Skeleton(
            headers,
            render_template("email/confirmation.txt", **context),
            render_template("email/confirmation.html", **context),
            markers=(CONFIRM_MARKER,),
            # RFC 3834: auto-responders must not answer.
            after_mime=b"Auto-Submitted: auto-generated\r\n",
            tag=f"r{issue.id}",
        )

    def for_recipient(
        self,
        delivery_id: int,
        email: str,
        name: str,
        token: str,
        subscriber_id: int | None = None,
        smtputf8: bool = False,
    ) -> bytes:
        if subscriber_id is None:
            raise ValueError("a reconfirmation request needs the person it asks")
        confirm_token = self.confirm_links.token(subscriber_id, token)
        url = self.confirm_url.replace(TOKEN_PLACEHOLDER, confirm_token)
        leading = [
            recipient_header(name, email, smtputf8),
            f"Message-ID: <{delivery_id}{self.message_id_suffix}".encode(),
        ]
        return self.skeleton.fill(leading, {CONFIRM_MARKER.encode(): url})


def mark_confirmation_sent(connection: sa.Connection, delivery_ids: list[int]) -> None:
    """Note on each person whose request was recorded sent that a confirmation mail named the
    issue's list, and count it against the address (newsletter/subscriptions/confirmation.py)."""
    if not delivery_ids:
        return
    subscriber, subscription = Subscriber.__table__, Subscription.__table__
    now = utcnow()
    sent = sa.select(DELIVERY.c.subscriber_id).where(
        DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.SENT
    )
    issue_lists = sa.select(IssueList.list_id).where(
        IssueList.issue_id.in_(
            sa.select(DELIVERY.c.issue_id).where(DELIVERY.c.id.in_(delivery_ids))
        )
    )
    connection.execute(
        sa.update(subscription)
        .where(subscription.c.subscriber_id.in_(sent), subscription.c.list_id.in_(issue_lists))
        .values(confirmation_sent_at=now)
    )
    connection.execute(
        sa.update(subscriber)
        .where(subscriber.c.id.in_(sent))
        .values(counted_mail_sql(subscriber, now))
    )
