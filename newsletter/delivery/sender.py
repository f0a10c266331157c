"""Sending one batch: claim rows a few at a time, send over one connection, record outcomes.

A batch is an id range of one issue's ledger. `send_batch` builds the issue's message once and
runs a `Batch`: it claims rows a few dozen at a time from its store (store.py), sends each
person their message over one SMTP connection, paced, and records outcomes every few messages:
a crash can resend only those handed to SMTP since the last write. The issue's status comes
back with each write, so pause and cancel take effect within a few messages. A heartbeat
(heartbeat.py) keeps the claimed rows the batch's own while it works.

The batch changes no issue's status itself: when the relay keeps failing, or the message
cannot be built, it stops and asks for a pause (`BatchResult.pause_reason`), which its caller
carries out (control.run_batch).
"""

from __future__ import annotations

import logging
import secrets
import time
import traceback
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from redis.exceptions import RedisError

from newsletter.bounces.policy import is_mailbox_refusal, refused_at_rcpt
from newsletter.compose.render import render_issue
from newsletter.delivery.heartbeat import ClaimHeartbeat
from newsletter.delivery.ledger import finish_if_done
from newsletter.delivery.message import IssueMessage, ReconfirmationMessage
from newsletter.delivery.pacing import pacer_for
from newsletter.delivery.store import BatchStore, store_for
from newsletter.delivery.types import BatchResult, BatchScope, Outcome, Recipient
from newsletter.extensions import current_app_object, db
from newsletter.mail import return_path
from newsletter.mail.dkim import dkim_signer
from newsletter.mail.relay import transport_for
from newsletter.mail.transport import (
    InternationalAddressRefused,
    PermanentSmtpError,
    SmtpError,
)
from newsletter.models import DeliveryStatus, Issue, IssueKind, IssueStatus
from newsletter.models.base import utcnow
from newsletter.suppression import hasher

logger = logging.getLogger(__name__)

CLAIM_SIZE = 50
# At most this many messages are handed to SMTP and not yet recorded, per thread.
RECORD_EVERY = 8
RECORD_SECONDS = 0.25
PROGRESS_SECONDS = 2.0
MAX_RETRY_DELAY = 3600.0


def send_batch(issue_id: int, first_id: int, last_id: int) -> BatchResult:
    """Send the queued rows of `issue_id` with ids first_id..last_id; idempotent."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or issue.status != IssueStatus.SENDING:
        db.session.rollback()
        return BatchResult(stopped=issue.status if issue is not None else IssueStatus.CANCELLED)
    try:
        batch = Batch(current_app_object(), issue, first_id, last_id)
    except (sa.exc.SQLAlchemyError, RedisError):
        raise  # the system's trouble, not the issue's: the actor retries, the sweep re-enqueues
    except Exception as error:
        db.session.rollback()
        return _cannot_build(issue_id, error)
    # End the read transaction: SQLite's writers (and the built-in sink) must not wait on us.
    db.session.commit()
    return batch.run()


def _cannot_build(issue_id: int, error: Exception) -> BatchResult:
    """Ask to pause an issue whose message cannot be built at all, saying why on its page.

    The same issue and settings fail the same way every time, so retrying would leave it
    "sending" for ever; a person fixes the cause (the layout, a setting, the DKIM key) and resumes.
    """
    logger.error(
        "issue %s could not be built for sending: %s at %s",
        issue_id, type(error).__name__, _where(error),
    )  # fmt: skip
    reason = f"The message could not be built for sending: {_describe(error)}"
    return BatchResult(stopped=IssueStatus.PAUSED, pause_reason=reason[:500])


class Batch:
    store: BatchStore  # opened by run(), which every other step runs inside

    def __init__(self, app: Flask, issue: Issue, first_id: int, last_id: int) -> None:
        config = app.config
        self.app = app
        self.issue_id = issue.id
        self.reconfirmation = issue.kind == IssueKind.RECONFIRMATION
        # Names this run of the batch in `claimed_by`: its rows, its outcomes, its heartbeat.
        self.scope = BatchScope(
            issue.id, first_id, last_id, owner=secrets.token_hex(8),
            list_ids=[ml.id for ml in issue.lists], reconfirmation=self.reconfirmation,
        )  # fmt: skip
        if self.reconfirmation:
            self.message: IssueMessage | ReconfirmationMessage = ReconfirmationMessage(
                issue, utcnow()
            )
        else:
            self.message = IssueMessage(issue, render_issue(issue), utcnow())
        self.return_paths = return_path.signer()
        self.dkim = dkim_signer(app)
        self.pacer = pacer_for(app)
        self.hash_key = hasher()
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
        self.heartbeat = ClaimHeartbeat(
            db.engine, self.scope, timeout=float(config["SEND_CLAIM_TIMEOUT"])
        )

    def run(self) -> BatchResult:
        transport = transport_for(self.app)
        self.store = store = store_for(db.engine, self.scope, self.hash_key)
        self.heartbeat.start()
        try:
            while self.result.stopped is None:
                claim = store.claim(self.claim_size)
                if claim.stopped is not None and self.result.stopped is None:
                    self.result.stopped = claim.stopped
                if not claim.recipients:
                    break
                self.send_all(transport, claim.recipients)
        finally:
            transport.close()
            try:
                self.record()
            finally:
                # Rows still ours after the record (it failed) are freed one timeout later.
                self.heartbeat.stop()
                store.close()
        if self.result.stopped is None:
            self.result.retry_at = store.next_retry()
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
            if is_mailbox_refusal(error):
                self.hard_bounced.append(recipient)
            return Outcome(recipient.delivery_id, DeliveryStatus.FAILED, detail)
        if recipient.attempts >= self.max_attempts:
            return Outcome(recipient.delivery_id, DeliveryStatus.FAILED, detail)
        delay = min(MAX_RETRY_DELAY, self.retry_delay * 2 ** (recipient.attempts - 1))
        retry_at = utcnow() + timedelta(seconds=delay)
        return Outcome(recipient.delivery_id, DeliveryStatus.QUEUED, detail, retry_at)

    def pause_for(self, error: Exception) -> None:
        """Stop, asking for the issue to be paused with the reason."""
        last = error if isinstance(error, SmtpError) else _describe(error)
        reason = f"Paused after {self.consecutive_failures} failures in a row; the last: {last}"
        self.result.pause_reason = reason[:500]
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
        """Write the pending outcomes in one go and read the issue's status."""
        pending, self.pending = self.pending, []
        self.last_record = now = time.monotonic()
        progress = now - self.last_progress >= PROGRESS_SECONDS
        if progress:
            self.last_progress = now
        status = self.store.record(pending, progress=progress)
        if status != IssueStatus.SENDING and self.result.stopped is None:
            self.result.stopped = status
        if self.hard_bounced:
            bounced, self.hard_bounced = self.hard_bounced, []
            for recipient in bounced:
                refused_at_rcpt(recipient.subscriber_id, recipient.delivery_id)
            db.session.commit()


def _describe(error: Exception) -> str:
    """An exception as a short sentence for the admin: its class and message, one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:400] if text else type(error).__name__


def _where(error: Exception) -> str:
    """file:line of the innermost frame the exception passed through."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
