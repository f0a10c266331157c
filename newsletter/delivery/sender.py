"""Sending one batch: claim rows a few at a time, send over one connection, record outcomes.

A batch is an id range of one issue's ledger. Its rows are claimed (`queued → sending`) a few
dozen at a time by `claims.Claimer`, which also checks each person's subscription and the
suppression list, so any number of workers can work on the same range without sending a row
twice. Outcomes are written every few messages: a crash can resend only those handed to SMTP
since the last write (DESIGN.md invariant 2). The issue's status is read at each write, so
pause and cancel take effect within a few messages.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from redis.exceptions import RedisError

from newsletter.delivery.claims import Claimer, Recipient
from newsletter.delivery.heartbeat import ClaimHeartbeat
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
from newsletter.delivery.reconfirm import ReconfirmationMessage, mark_confirmation_sent
from newsletter.extensions import db
from newsletter.mail import return_path
from newsletter.mail.dkim import dkim_signer
from newsletter.mail.transport import (
    InternationalAddressRefused,
    PermanentSmtpError,
    SmtpError,
    transport_for,
)
from newsletter.models import DeliveryStatus, Issue, IssueKind, IssueStatus
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
class Outcome:
    delivery_id: int
    status: DeliveryStatus
    error: str | None = None
    next_attempt_at: datetime | None = None
    # Claimed but never tried (a pause): give the attempt back.
    untried: bool = False


@dataclass
class BatchResult:
    """How a batch ended: `stopped` names the issue status that stopped it, if any.

    `stopped` is `sending` when the batch lost its claim (see ClaimHeartbeat); `retry_at` is
    then now, so the actor enqueues the range again at once.
    """

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
    try:
        batch = Batch(current_app._get_current_object(), issue, first_id, last_id)
    except (sa.exc.SQLAlchemyError, RedisError):
        raise  # the system's trouble, not the issue's: the actor retries, the sweep re-enqueues
    except Exception as error:
        db.session.rollback()
        return _cannot_build(issue_id, error)
    # End the read transaction: SQLite's writers (and the built-in sink) must not wait on us.
    db.session.commit()
    return batch.run()


def _cannot_build(issue_id: int, error: Exception) -> BatchResult:
    """Pause an issue whose message cannot be built at all, saying why on its page.

    The same issue and settings fail the same way every time, so retrying would leave it
    "sending" for ever; a person fixes the cause (the layout, a setting, the DKIM key) and resumes.
    """
    logger.error(
        "issue %s could not be built for sending: %s at %s",
        issue_id, type(error).__name__, _where(error),
    )  # fmt: skip
    from newsletter.issues import pause_issue

    reason = f"The message could not be built for sending: {_describe(error)}"
    pause_issue(issue_id, actor="system", reason=reason[:500])
    return BatchResult(stopped=IssueStatus.PAUSED)


class Batch:
    def __init__(self, app: Flask, issue: Issue, first_id: int, last_id: int) -> None:
        config = app.config
        self.app = app
        self.issue_id, self.first_id, self.last_id = issue.id, first_id, last_id
        self.list_ids = [ml.id for ml in issue.lists]
        self.reconfirmation = issue.kind == IssueKind.RECONFIRMATION
        if self.reconfirmation:
            self.message = ReconfirmationMessage(issue, utcnow())
        else:
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
        # Names this run of the batch in `claimed_by`: its rows, its outcomes, its heartbeat.
        self.owner = secrets.token_hex(8)
        self.heartbeat = ClaimHeartbeat(
            db.engine, self.issue_id, first_id, last_id, self.owner,
            timeout=float(config["SEND_CLAIM_TIMEOUT"]),
        )  # fmt: skip

    def run(self) -> BatchResult:
        transport = transport_for(self.app)
        self.recorder = sent_recorder(self.issue_id, self.owner)
        claimer = Claimer(
            self.issue_id, self.first_id, self.last_id,
            list_ids=self.list_ids, reconfirmation=self.reconfirmation,
            suppression_key=self.suppression_key, claim_size=self.claim_size,
            owner=self.owner, recorder=self.recorder,
        )  # fmt: skip
        self.heartbeat.start()
        try:
            while self.result.stopped is None:
                recipients = claimer.claim()
                if claimer.stopped is not None and self.result.stopped is None:
                    self.result.stopped = claimer.stopped
                if not recipients:
                    break
                self.send_all(transport, recipients)
        finally:
            transport.close()
            try:
                self.record()
            finally:
                # Rows still ours after the record (it failed) are freed one timeout later.
                self.heartbeat.stop()
                if self.recorder is not None:
                    self.recorder.close()
        if self.result.stopped is None:
            self.result.retry_at = self.next_retry()
            finish_if_done(self.issue_id)
        return self.result

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
        """Build, sign and send one person's message; what goes wrong with it fails only them.

        The pacer (Redis) stays outside: its failure is the system's, not this person's, and
        leaves the batch for the sweep as any crash does.
        """
        try:
            smtputf8 = transport.smtputf8_for(recipient.email)
            raw = self.build(recipient, smtputf8)
        except Exception as error:
            self.not_sent(recipient, error)
            return
        self.pacer.wait()
        try:
            transport.send_one(
                raw, self.return_paths.address(recipient.delivery_id), recipient.email, smtputf8
            )
        except Exception as error:
            self.not_sent(recipient, error)
            return
        self.consecutive_failures = 0
        self.result.sent += 1
        self.add(Outcome(recipient.delivery_id, DeliveryStatus.SENT))

    def build(self, recipient: Recipient, smtputf8: bool) -> bytes:
        """The person's message as sent: their headers and links, DKIM-signed when configured."""
        raw = self.message.for_recipient(
            recipient.delivery_id,
            recipient.email,
            recipient.name,
            recipient.token,
            recipient.subscriber_id,
            smtputf8=smtputf8,
        )
        return raw if self.dkim is None else self.dkim.sign(raw)

    def not_sent(self, recipient: Recipient, error: Exception) -> None:
        """The outcome of a message that failed, by what failed."""
        if isinstance(error, InternationalAddressRefused):
            # The person's address, not the relay: it fails them without counting to a pause.
            self.add(self.failure(recipient, error))
            return
        if isinstance(error, SmtpError):
            self.failed(self.failure(recipient, error), error)
            return
        # Bad data or a bug in building, signing or sending: the same data fails the same
        # way, so the row is failed with its reason instead of stalling the batch. The log
        # gets the class and the line, not the message, which may quote the address.
        logger.error(
            "delivery %s could not be sent: %s at %s",
            recipient.delivery_id, type(error).__name__, _where(error),
        )  # fmt: skip
        reason = f"the message could not be built or sent: {_describe(error)}"
        self.failed(Outcome(recipient.delivery_id, DeliveryStatus.FAILED, reason), error)

    def failed(self, outcome: Outcome, error: Exception) -> None:
        """Record a failure; enough in a row (the relay is down, signing broke) pause the issue."""
        self.add(outcome)
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.pause_after:
            self.pause_for(error)

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

    def pause_for(self, error: Exception) -> None:
        last = error if isinstance(error, SmtpError) else _describe(error)
        reason = f"Paused after {self.consecutive_failures} failures in a row; the last: {last}"
        reason = reason[:500]
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
        self.check_claim()
        key = outcome.status.value
        self.result.outcomes[key] = self.result.outcomes.get(key, 0) + 1
        if (
            len(self.pending) >= RECORD_EVERY
            or time.monotonic() - self.last_record >= RECORD_SECONDS
        ):
            self.record()

    def check_claim(self) -> None:
        """Stop before the next message once the claim may have lapsed (see ClaimHeartbeat)."""
        if self.heartbeat.step() or self.result.stopped is not None:
            return
        logger.warning("a batch of issue %s lost its claim; its range goes back", self.issue_id)
        self.result.stopped = IssueStatus.SENDING
        self.result.retry_at = utcnow()

    def record(self) -> None:
        """Write the pending outcomes in one transaction and read the issue's status."""
        pending, self.pending = self.pending, []
        self.last_record = now = time.monotonic()
        if (
            self.recorder is not None
            and self.recorder.open
            and now - self.last_progress < PROGRESS_SECONDS
            and all(outcome.status == DeliveryStatus.SENT for outcome in pending)
            # A reconfirmation also notes when each person was asked (`write`).
            and not self.reconfirmation
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
                write_outcomes(connection, pending, self.owner)
                if self.reconfirmation:
                    sent = [o.delivery_id for o in pending if o.status == DeliveryStatus.SENT]
                    mark_confirmation_sent(connection, sent)
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


def _describe(error: Exception) -> str:
    """An exception as a short sentence for the admin: its class and message, one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:400] if text else type(error).__name__


def _where(error: Exception) -> str:
    """file:line of the innermost frame the exception passed through."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
