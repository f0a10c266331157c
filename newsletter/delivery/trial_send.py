"""Test sends: the issue as a subscriber gets it, marked [TEST], to addresses typed by an editor.

A test send writes no ledger row, so the issue's counts and status never include it; its links
carry no token and act for nobody. It goes only to the secretariat's own addresses (those of
enabled accounts) and to the test addresses an admin keeps here, checked when it is asked for
and again when the worker sends it, so that the right to write an issue is never a way to
mail anyone else. How often an account may ask is limited in the web layer
(`TEST_SEND_RATE_PER_ACCOUNT`).
"""

from __future__ import annotations

import logging
import secrets
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app

from newsletter.addresses import Address, parse_address
from newsletter.audit import Actor, record
from newsletter.background import enqueue
from newsletter.compose.render import render_issue
from newsletter.delivery.message import TEST_TOKEN, IssueMessage
from newsletter.errors import ConflictError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.mail.relay import transport_for
from newsletter.mail.system import failures_recorded
from newsletter.mail.transport import PermanentSmtpError
from newsletter.models import Account, AllowedTestAddress, Issue
from newsletter.models.base import get_by_id, utcnow

logger = logging.getLogger(__name__)
TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10


NOT_ALLOWED = (
    "“{}” is not an address test messages may go to: they go only to the accounts' own "
    "addresses and to the test addresses an admin keeps"
)


def request_test_send(issue: Issue, typed: str, actor: Actor) -> int:
    """Queue a test send of the issue to the addresses typed, audited; commits. Returns how
    many addresses; a ValidationError (nothing queued) says what is wrong with them."""
    addresses = parse_test_addresses(typed)
    allowed = allowed_test_keys()
    outside = [address for address in addresses if address.key not in allowed]
    if outside:
        # Audited too: an editor probing for a way to mail the world is worth seeing. The
        # outside addresses are counted, not kept.
        record(
            "issue.test_refused",
            target=f"issue:{issue.id}",
            detail={"addresses": len(addresses), "not_allowed": len(outside)},
            actor=actor,
        )
        db.session.commit()
        raise ValidationError(NOT_ALLOWED.format(outside[0].email))
    record(
        "issue.test_sent",
        target=f"issue:{issue.id}",
        detail={"addresses": len(addresses)},
        actor=actor,
    )
    db.session.commit()
    enqueue.send_issue_test(issue.id, [address.email for address in addresses])
    return len(addresses)


def parse_test_addresses(text: str) -> list[Address]:
    """The addresses typed (commas, spaces or lines between), each checked, at most ten."""
    pieces = [p for p in (text or "").replace(",", " ").replace(";", " ").split() if p]
    if not pieces:
        raise ValidationError("Enter at least one email address")
    if len(pieces) > MAX_TEST_ADDRESSES:
        raise ValidationError(f"Enter at most {MAX_TEST_ADDRESSES} email addresses")
    addresses: dict[str, Address] = {}
    for piece in pieces:
        try:
            address = parse_address(piece)
        except ValidationError as error:
            raise ValidationError(
                f"“{piece}” is not an email address in the correct format, like name@example.com"
            ) from error
        addresses.setdefault(address.key, address)
    return list(addresses.values())


def allowed_test_keys() -> set[str]:
    """The canonical keys test sends may go to: enabled accounts' and the kept test addresses."""
    accounts = sa.select(Account.email_key).where(Account.disabled.is_(False))
    kept = sa.select(AllowedTestAddress.email_key)
    return set(db.session.scalars(sa.union(accounts, kept)))


def kept_test_addresses() -> list[AllowedTestAddress]:
    """The test addresses an admin keeps, by address."""
    query = sa.select(AllowedTestAddress).order_by(AllowedTestAddress.email_key)
    return list(db.session.scalars(query))


def add_test_address(email: str, actor: Actor) -> AllowedTestAddress:
    """Let test sends go to `email`, audited; commits. ConflictError if it is there already."""
    address = parse_address(email)
    exists = sa.select(AllowedTestAddress.id).where(AllowedTestAddress.email_key == address.key)
    if db.session.scalar(exists) is not None:
        raise ConflictError(f"{address.email} is a test address already")
    row = AllowedTestAddress(
        email=address.email,
        email_key=address.key,
        added_by_id=actor.id if isinstance(actor, Account) else None,
    )
    db.session.add(row)
    db.session.flush()
    record(
        "test_address.added",
        target=f"test_address:{row.id}",
        detail={"email": row.email},
        actor=actor,
    )
    db.session.commit()
    return row


def remove_test_address(address_id: int, actor: Actor) -> AllowedTestAddress:
    """Stop test sends going to a kept address, audited; commits. NotFoundError if unknown."""
    row = get_by_id(AllowedTestAddress, address_id)
    if row is None:
        raise NotFoundError(f"no test address with the id {address_id}")
    db.session.delete(row)
    record(
        "test_address.removed",
        target=f"test_address:{row.id}",
        detail={"email": row.email},
        actor=actor,
    )
    db.session.commit()
    return row


def send_test_issue(issue_id: int, addresses: list[str]) -> int:
    """Send the issue to each address over one connection; returns how many were sent."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        logger.info("test send skipped: issue %s no longer exists", issue_id)
        return 0
    # Checked again here: an account disabled or a test address removed since the request.
    allowed = allowed_test_keys()
    kept = [a for a in addresses if _key(a) in allowed]
    if len(kept) < len(addresses):
        logger.info(
            "test of issue %s: %d addresses no longer allowed", issue_id, len(addresses) - len(kept)
        )
    addresses = kept
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


def _key(email: str) -> str | None:
    try:
        return parse_address(email).key
    except ValidationError:
        return None
