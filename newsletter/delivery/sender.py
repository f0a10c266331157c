"""Sending one batch: claim rows a few at a time, send over one connection, record outcomes.

A batch is an id range of one issue's ledger. It claims queued rows (`queued → sending`) with
one `UPDATE … RETURNING` (with `FOR UPDATE SKIP LOCKED` on PostgreSQL), so any number of
workers can work on the same range without sending a row twice. Outcomes are written every few
messages: a crash can resend only those handed to SMTP since the last write (DESIGN.md
invariant 2). The issue's status is read at each write, so pause and cancel take effect within
a few messages; the person's subscription and the suppression list are checked per claim.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app

from newsletter.delivery.ledger import DELIVERY
from newsletter.delivery.message import IssueMessage, render_issue
from newsletter.delivery.outcomes import (
    SentRecorder,
    finish_if_done,
    sent_recorder,
    suppress_hard_bounces,
    write_outcomes,
)
from newsletter.delivery.pacing import pacer_for
from newsletter.extensions import db
from newsletter.mail import return_path
from newsletter.mail.dkim import dkim_signer
from newsletter.mail.transport import PermanentSmtpError, SmtpError, transport_for
from newsletter.models import (
    DeliveryStatus,
    Issue,
    IssueStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionEntry,
    SuppressionEntryReason,
)
from newsletter.models.base import utcnow
from newsletter.settings import suppression_key

logger = logging.getLogger(__name__)

ISSUE = Issue.__table__
CLAIM_SIZE = 50
# At most this many messages are handed to SMTP and not yet recorded, per thread.
RECORD_EVERY = 8
RECORD_SECONDS = 0.25
PROGRESS_SECONDS = 2.0
MAX_RETRY_DELAY = 3600.0
_MAILBOX_CODE = re.compile(r"\b5\.1\.\d{1,3}\b")


@dataclass
class Recipient:
    delivery_id: int
    email: str
    attempts: int
    subscriber_id: int | None = None
    name: str = ""
    token: str = ""
    email_key: str = ""
    skip_reason: str | None = None


class Person(NamedTuple):
    id: int
    name: str | None
    unsubscribe_token: str
    email_key: str
    confirmed: bool


# PostgreSQL's claim (see Batch.claim_on_postgresql): the rows claimed as `claim` does, with the
# people they are for and whether each is still confirmed on one of the issue's lists.
CLAIM_SQL = (
    "WITH due AS ("
    f" SELECT id FROM {DELIVERY.name}"
    " WHERE issue_id = %(issue)s AND id BETWEEN %(first)s AND %(last)s AND status = %(queued)s"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)"
    f" AND EXISTS (SELECT 1 FROM {ISSUE.name} WHERE id = %(issue)s AND status = %(issue_sending)s)"
    " ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED),"
    f" claimed AS (UPDATE {DELIVERY.name} AS d"
    " SET status = %(sending)s, attempts = d.attempts + 1, claimed_at = %(now)s"
    " FROM due WHERE d.id = due.id AND d.status = %(queued)s"
    " RETURNING d.id, d.subscriber_id, d.email, d.attempts)"
    " SELECT c.id, c.subscriber_id, c.email, c.attempts,"
    " s.id, s.name, s.unsubscribe_token, s.email_key,"
    # Status is tested on the rows found by (subscriber_id, list_id), never used to find them:
    # a generic plan would otherwise AND in the status index, reading every confirmed row.
    " COALESCE((SELECT bool_or(u.status = %(confirmed)s)"
    f" FROM {Subscription.__table__.name} AS u"
    " WHERE u.subscriber_id = s.id AND u.list_id = ANY(%(lists)s)), false)"
    f" FROM claimed AS c LEFT JOIN {Subscriber.__table__.name} AS s ON s.id = c.subscriber_id"
    " ORDER BY c.id"
)
STATUS_SQL = f"SELECT status FROM {ISSUE.name} WHERE id = %(issue)s"
SUPPRESSED_SQL = (
    f"SELECT e.key_hash FROM {SuppressionEntry.__table__.name} AS e"
    f" JOIN {SuppressionEntryReason.__table__.name} AS r ON r.entry_id = e.id"
    " WHERE e.key_hash = ANY(%(hashes)s) AND r.lifted_at IS NULL"
)


@dataclass
class Outcome:
    delivery_id: int
    status: DeliveryStatus
    error: str | None = None
    next_attempt_at: datetime | None = None
    # Claimed but never tried (a pause): give the attempt back.
    untried: bool = False


@dataclass
class BatchResult:
    """How a batch ended: `stopped` names the issue status that stopped it, if any."""

    sent: int = 0
    stopped: IssueStatus | None = None
    retry_at: datetime | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


def send_batch(issue_id: int, first_id: int, last_id: int) -> BatchResult:
    """Send the queued rows of `issue_id` with ids first_id..last_id; idempotent."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or issue.status != IssueStatus.SENDING:
        db.session.rollback()
        return BatchResult(stopped=issue.status if issue is not None else IssueStatus.CANCELLED)
    batch = Batch(current_app._get_current_object(), issue, first_id, last_id)
    # End the read transaction: SQLite's writers (and the built-in sink) must not wait on us.
    db.session.commit()
    return batch.run()


class Batch:
    def __init__(self, app: Flask, issue: Issue, first_id: int, last_id: int) -> None:
        config = app.config
        self.app = app
        self.issue_id, self.first_id, self.last_id = issue.id, first_id, last_id
        self.list_ids = [ml.id for ml in issue.lists]
        self.message = IssueMessage(issue, render_issue(issue), utcnow())
        self.return_paths = return_path.signer()
        self.dkim = dkim_signer(app)
        self.pacer = pacer_for(app)
        self.suppression_key = suppression_key()
        self.max_attempts = int(config["SEND_MAX_ATTEMPTS"])
        self.retry_delay = float(config["SEND_RETRY_DELAY"])
        self.pause_after = int(config["SEND_PAUSE_AFTER_FAILURES"])
        rate = int(config.get("SEND_RATE") or 0)
        # Claim about a second's worth when paced, so claimed rows never wait long.
        self.claim_size = min(CLAIM_SIZE, rate) if rate > 0 else CLAIM_SIZE
        self.pending: list[Outcome] = []
        self.hard_bounced: list[Recipient] = []
        self.result = BatchResult()
        self.consecutive_failures = 0
        self.last_record = time.monotonic()
        self.last_progress = 0.0
        self.recorder: SentRecorder | None = None

    def run(self) -> BatchResult:
        transport = transport_for(self.app)
        self.recorder = sent_recorder(self.issue_id)
        try:
            while self.result.stopped is None:
                recipients = self.claim()
                if not recipients:
                    break
                self.send_all(transport, recipients)
        finally:
            transport.close()
            try:
                self.record()
            finally:
                if self.recorder is not None:
                    self.recorder.close()
        if self.result.stopped is None:
            self.result.retry_at = self.next_retry()
            finish_if_done(self.issue_id)
        return self.result

    def claim(self) -> list[Recipient]:
        if self.recorder is not None:
            return self.claim_on_postgresql()
        now = utcnow()
        due = (
            sa.select(DELIVERY.c.id)
            .where(
                DELIVERY.c.issue_id == self.issue_id,
                DELIVERY.c.id.between(self.first_id, self.last_id),
                DELIVERY.c.status == DeliveryStatus.QUEUED,
                sa.or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now),
            )
            .order_by(DELIVERY.c.id)
            .limit(self.claim_size)
            .with_for_update(skip_locked=True)
        )
        claim = (
            sa.update(DELIVERY)
            .where(DELIVERY.c.id.in_(due.scalar_subquery()))
            .where(DELIVERY.c.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.SENDING, attempts=DELIVERY.c.attempts + 1, claimed_at=now)
            .returning(
                DELIVERY.c.id, DELIVERY.c.subscriber_id, DELIVERY.c.email, DELIVERY.c.attempts
            )
        )
        with db.engine.begin() as connection:
            status = connection.scalar(sa.select(ISSUE.c.status).where(ISSUE.c.id == self.issue_id))
            if status != IssueStatus.SENDING:
                self.result.stopped = status
                return []
            rows = connection.execute(claim).all()
            recipients = [
                Recipient(row.id, row.email, row.attempts, row.subscriber_id)
                for row in sorted(rows, key=lambda row: row.id)
            ]
            self.check_recipients(connection, recipients)
        return recipients

    def check_recipients(self, connection: sa.Connection, recipients: list[Recipient]) -> None:
        """Mark who left the issue's lists or was suppressed since the ledger was written."""
        subscriber, subscription = Subscriber.__table__, Subscription.__table__
        confirmed = sa.exists().where(
            subscription.c.subscriber_id == subscriber.c.id,
            subscription.c.list_id.in_(self.list_ids),
            subscription.c.status == SubscriptionStatus.CONFIRMED,
        )
        ids = [r.subscriber_id for r in recipients if r.subscriber_id is not None]
        people = {
            row.id: Person(*row)
            for row in connection.execute(
                sa.select(
                    subscriber.c.id, subscriber.c.name, subscriber.c.unsubscribe_token,
                    subscriber.c.email_key, confirmed.label("confirmed"),
                ).where(subscriber.c.id.in_(ids))
            )
        }  # fmt: skip
        hashes = self.key_hashes(people)
        entry, reason = SuppressionEntry.__table__, SuppressionEntryReason.__table__
        suppressed = {
            hashes[key_hash]
            for key_hash in connection.scalars(
                sa.select(entry.c.key_hash)
                .join(reason, reason.c.entry_id == entry.c.id)
                .where(entry.c.key_hash.in_(list(hashes)), reason.c.lifted_at.is_(None))
            )
        }
        self.mark(recipients, people, suppressed)

    def claim_on_postgresql(self) -> list[Recipient]:
        """`claim` and `check_recipients` in two prepared statements on the batch's connection."""
        rows = self.recorder.fetch(
            CLAIM_SQL,
            {
                "issue": self.issue_id, "first": self.first_id, "last": self.last_id,
                "now": utcnow(), "limit": self.claim_size, "lists": self.list_ids,
                "queued": DeliveryStatus.QUEUED.value, "sending": DeliveryStatus.SENDING.value,
                "issue_sending": IssueStatus.SENDING.value,
                "confirmed": SubscriptionStatus.CONFIRMED.value,
            },
        )  # fmt: skip
        if not rows:
            # Nothing left, or nothing claimed because the issue no longer sends.
            status = IssueStatus(self.recorder.fetch(STATUS_SQL, {"issue": self.issue_id})[0][0])
            if status != IssueStatus.SENDING:
                self.result.stopped = status
            return []
        recipients = [Recipient(row[0], row[2], row[3], row[1]) for row in rows]
        people = {row[4]: Person(*row[4:]) for row in rows if row[4] is not None}
        hashes = self.key_hashes(people)
        found = self.recorder.fetch(SUPPRESSED_SQL, {"hashes": list(hashes)}) if hashes else []
        suppressed = {hashes[key_hash] for (key_hash,) in found}
        self.mark(recipients, people, suppressed)
        return recipients

    def key_hashes(self, people: dict[int, Person]) -> dict[str, int]:
        """The suppression list's key hash of each person's address, to the person's id."""
        return {
            hmac.new(self.suppression_key, p.email_key.encode(), hashlib.sha256).hexdigest(): p.id
            for p in people.values()
        }

    @staticmethod
    def mark(recipients: list[Recipient], people: dict[int, Person], suppressed: set[int]) -> None:
        for recipient in recipients:
            person = people.get(recipient.subscriber_id)
            if person is None:
                recipient.skip_reason = "the subscriber no longer exists"
            elif not person.confirmed:
                recipient.skip_reason = "unsubscribed since the issue started sending"
            elif person.id in suppressed:
                recipient.skip_reason = "suppressed since the issue started sending"
            else:
                recipient.name = person.name or ""
                recipient.token = person.unsubscribe_token
                recipient.email_key = person.email_key

    def send_all(self, transport, recipients: list[Recipient]) -> None:
        for index, recipient in enumerate(recipients):
            if self.result.stopped is not None:
                self.give_back(recipients[index:])
                return
            if recipient.skip_reason is not None:
                self.add(
                    Outcome(recipient.delivery_id, DeliveryStatus.SKIPPED, recipient.skip_reason)
                )
            else:
                self.send_one(transport, recipient)

    def send_one(self, transport, recipient: Recipient) -> None:
        raw = self.message.for_recipient(
            recipient.delivery_id,
            recipient.email,
            recipient.name,
            recipient.token,
            recipient.subscriber_id,
        )
        if self.dkim is not None:
            raw = self.dkim.sign(raw)
        self.pacer.wait()
        try:
            transport.send_one(
                raw, self.return_paths.address(recipient.delivery_id), recipient.email
            )
        except SmtpError as error:
            self.add(self.failure(recipient, error))
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.pause_after:
                self.pause_for(error)
            return
        self.consecutive_failures = 0
        self.result.sent += 1
        self.add(Outcome(recipient.delivery_id, DeliveryStatus.SENT))

    def failure(self, recipient: Recipient, error: SmtpError) -> Outcome:
        detail = str(error)[:500]
        if isinstance(error, PermanentSmtpError):
            refused = isinstance(error.__cause__, smtplib.SMTPRecipientsRefused)
            if refused and _MAILBOX_CODE.search(detail):
                self.hard_bounced.append(recipient)
            return Outcome(recipient.delivery_id, DeliveryStatus.FAILED, detail)
        if recipient.attempts >= self.max_attempts:
            return Outcome(recipient.delivery_id, DeliveryStatus.FAILED, detail)
        delay = min(MAX_RETRY_DELAY, self.retry_delay * 2 ** (recipient.attempts - 1))
        retry_at = utcnow() + timedelta(seconds=delay)
        return Outcome(recipient.delivery_id, DeliveryStatus.QUEUED, detail, retry_at)

    def pause_for(self, error: SmtpError) -> None:
        reason = (f"Paused after {self.consecutive_failures} failures in a row; the last: {error}")[
            :500
        ]
        from newsletter.issues import pause_issue

        pause_issue(self.issue_id, actor="system", reason=reason)
        self.result.stopped = IssueStatus.PAUSED

    def give_back(self, recipients: list[Recipient]) -> None:
        """Claimed rows not tried because the issue stopped: queued again, or cancelled."""
        status = (
            DeliveryStatus.CANCELLED
            if self.result.stopped == IssueStatus.CANCELLED
            else DeliveryStatus.QUEUED
        )
        for recipient in recipients:
            self.pending.append(Outcome(recipient.delivery_id, status, untried=True))

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        key = outcome.status.value
        self.result.outcomes[key] = self.result.outcomes.get(key, 0) + 1
        if (
            len(self.pending) >= RECORD_EVERY
            or time.monotonic() - self.last_record >= RECORD_SECONDS
        ):
            self.record()

    def record(self) -> None:
        """Write the pending outcomes in one transaction and read the issue's status."""
        pending, self.pending = self.pending, []
        self.last_record = now = time.monotonic()
        if (
            self.recorder is not None
            and self.recorder.open
            and now - self.last_progress < PROGRESS_SECONDS
            and all(outcome.status == DeliveryStatus.SENT for outcome in pending)
        ):
            # The common write, in one round trip (see SentRecorder).
            status = self.recorder.record_sent([outcome.delivery_id for outcome in pending])
        else:
            status = self.write(pending)
        if status != IssueStatus.SENDING and self.result.stopped is None:
            self.result.stopped = status
        if self.hard_bounced:
            bounced, self.hard_bounced = self.hard_bounced, []
            suppress_hard_bounces(bounced)

    def write(self, pending: list[Outcome]) -> IssueStatus:
        """Any outcomes, with the progress time, in one transaction; the issue's status."""
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Outcomes need not wait for the WAL flush: a worker that dies after this
                # commit loses nothing, and only a crash of PostgreSQL itself could forget the
                # last fraction of a second of them, which the sweep then sends again.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            if pending:
                write_outcomes(connection, pending)
            if time.monotonic() - self.last_progress >= PROGRESS_SECONDS:
                self.last_progress = time.monotonic()
                connection.execute(
                    sa.update(ISSUE).where(ISSUE.c.id == self.issue_id).values(progress_at=utcnow())
                )
            return connection.scalar(sa.select(ISSUE.c.status).where(ISSUE.c.id == self.issue_id))

    def next_retry(self) -> datetime | None:
        with db.engine.connect() as connection:
            return connection.scalar(
                sa.select(sa.func.min(DELIVERY.c.next_attempt_at)).where(
                    DELIVERY.c.issue_id == self.issue_id,
                    DELIVERY.c.id.between(self.first_id, self.last_id),
                    DELIVERY.c.status == DeliveryStatus.QUEUED,
                )
            )
