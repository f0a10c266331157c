"""Test sends: the issue as a subscriber gets it, marked [TEST], to addresses typed by an editor.

A test send writes no ledger row, so the issue's counts and status never include it; its links
carry no token and act for nobody.
"""

from __future__ import annotations

import logging
import secrets
from email.utils import parseaddr

from flask import current_app

from newsletter.addresses import parse_address
from newsletter.audit import Actor, record
from newsletter.background import enqueue
from newsletter.compose.render import render_issue
from newsletter.delivery.message import TEST_TOKEN, IssueMessage
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.mail.relay import transport_for
from newsletter.mail.system import failures_recorded
from newsletter.mail.transport import PermanentSmtpError
from newsletter.models import Issue
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)
TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10


def request_test_send(issue: Issue, typed: str, actor: Actor) -> int:
    """Queue a test send of the issue to the addresses typed, audited; commits. Returns how
    many addresses; a ValidationError (nothing queued) says what is wrong with them."""
    addresses = parse_test_addresses(typed)
    record(
        "issue.test_sent",
        target=f"issue:{issue.id}",
        detail={"addresses": len(addresses)},
        actor=actor,
    )
    db.session.commit()
    enqueue.send_issue_test(issue.id, addresses)
    return len(addresses)


def parse_test_addresses(text: str) -> list[str]:
    """The addresses typed (commas, spaces or lines between), each checked, at most ten."""
    pieces = [p for p in (text or "").replace(",", " ").replace(";", " ").split() if p]
    if not pieces:
        raise ValidationError("Enter at least one email address")
    if len(pieces) > MAX_TEST_ADDRESSES:
        raise ValidationError(f"Enter at most {MAX_TEST_ADDRESSES} email addresses")
    addresses = []
    for piece in pieces:
        try:
            addresses.append(parse_address(piece).email)
        except ValidationError as error:
            raise ValidationError(
                f"“{piece}” is not an email address in the correct format, like name@example.com"
            ) from error
    return list(dict.fromkeys(addresses))


def send_test_issue(issue_id: int, addresses: list[str]) -> int:
    """Send the issue to each address over one connection; returns how many were sent."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        logger.info("test send skipped: issue %s no longer exists", issue_id)
        return 0
    message = IssueMessage(issue, render_issue(issue), utcnow(), subject_prefix=TEST_PREFIX)
    # End the read transaction first: the built-in sink writes to this same database.
    db.session.commit()
    envelope_from = parseaddr(current_app.config["MAIL_FROM"])[1]
    refused: list[PermanentSmtpError] = []
    with transport_for(current_app) as transport:
        for address in addresses:
            try:
                with failures_recorded("issue test", f"issue:{issue_id}", address):
                    smtputf8 = transport.smtputf8_for(address)
                    raw = message.for_recipient(
                        f"test-{secrets.token_hex(6)}", address, "", TEST_TOKEN, None, smtputf8
                    )
                    transport.send(raw, envelope_from, [address], smtputf8=smtputf8)
            except PermanentSmtpError as error:
                # One address refused for good must not keep the test from the others.
                refused.append(error)
    sent = len(addresses) - len(refused)
    logger.info("test of issue %s sent to %d addresses", issue_id, sent)
    if refused:
        # Recorded in the audit log already; raised so the actor does not try again.
        raise refused[-1]
    return sent
