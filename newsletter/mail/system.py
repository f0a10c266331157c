"""System mail: messages the application sends on its own behalf, not newsletters.

The headers come from `mail/addresses.py` and the body is the one MIME skeleton
(`mail/message.py`), as every other kind of mail's are. A message that cannot be built, or
that the relay refuses for good, is recorded once in the audit log (`mail.failed`, with the
reason and no address) and leaves as a PermanentSmtpError, which the actors never retry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import format_datetime, make_msgid, parseaddr

import sqlalchemy as sa
from flask import current_app, render_template

from newsletter.audit import record
from newsletter.extensions import db
from newsletter.mail.addresses import (
    ascii_domain,
    recipient_header,
    sender_domain,
    sender_header,
    text_header,
)
from newsletter.mail.errors import PermanentSmtpError, SmtpError, UnsendableMessage
from newsletter.mail.message import Skeleton, fold
from newsletter.mail.relay import transport_for
from newsletter.models import Account
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemMessage:
    """A text and HTML message from MAIL_FROM_SYSTEM to one person, marked automatic."""

    to_email: str
    to_name: str
    subject: str
    text: str
    html: str

    def as_bytes(self, smtputf8: bool = False) -> bytes:
        """The message as sent; `smtputf8` as the transport's `smtputf8_for` says."""
        sender = current_app.config["MAIL_FROM_SYSTEM"]
        headers = b"".join(
            (
                sender_header("From", sender),
                text_header("Subject", self.subject),
                fold("Date", format_datetime(utcnow())),
            )
        )
        # RFC 3834: tells auto-responders not to answer.
        automatic = b"Auto-Submitted: auto-generated\r\n"
        skeleton = Skeleton(headers, self.text, self.html, after_mime=automatic, tag="s")
        leading = [
            recipient_header(self.to_name, self.to_email, smtputf8),
            f"Message-ID: {make_msgid(domain=sender_domain(sender))}\r\n".encode(),
        ]
        return skeleton.fill(leading)


def system_message(to: str, subject: str, text: str, html: str, to_name: str = "") -> SystemMessage:
    """A system message to the address `to` (as stored), with `to_name` shown."""
    return SystemMessage(to_email=to, to_name=to_name, subject=subject, text=text, html=html)


def send_system_message(message: SystemMessage) -> None:
    """Send `message` to its address through the app's transport."""
    envelope_from = parseaddr(current_app.config["MAIL_FROM_SYSTEM"])[1]
    with transport_for(current_app) as transport:
        smtputf8 = transport.smtputf8_for(message.to_email)
        raw = message.as_bytes(smtputf8)
        transport.send(raw, envelope_from, [message.to_email], smtputf8=smtputf8)


@contextmanager
def failures_recorded(kind: str, target: str, address: str = "") -> Iterator[None]:
    """Around building and sending one system mail: a failure retrying cannot mend (a 5xx, an
    international address the relay refuses, a message that cannot be built) is recorded once
    and raised as a PermanentSmtpError; a relay's 4xx or a database error is raised as it is,
    for the actor to retry. `address` is kept out of what is recorded.
    """
    try:
        yield
    except PermanentSmtpError as error:
        _record_failure(kind, target, _without(str(error), address))
        raise
    except (SmtpError, sa.exc.SQLAlchemyError):
        raise
    except Exception as error:
        reason = f"the message could not be built or sent: {type(error).__name__}"
        _record_failure(kind, target, reason)
        raise UnsendableMessage(reason) from error


def _without(reason: str, address: str) -> str:
    """The reason with the address taken out (a relay's reply often quotes it)."""
    if not address:
        return reason
    local, _, domain = address.rpartition("@")
    try:
        forms = {address, f"{local}@{ascii_domain(domain)}"}
    except Exception:
        forms = {address}
    for form in forms:
        reason = re.sub(re.escape(form), "<the address>", reason, flags=re.IGNORECASE)
    return reason


def _record_failure(kind: str, target: str, reason: str) -> None:
    # The audit log keeps the reason (no address: an erasure would not find it there); the
    # log line keeps only what failed, where to look.
    logger.warning("%s to %s not sent; the audit log has the reason", kind, target)
    db.session.rollback()
    record("mail.failed", target=target, detail={"mail": kind, "reason": reason[:500]})
    db.session.commit()


def build_test_message(account: Account) -> SystemMessage:
    """The message that proves to an admin that mail reaches them."""
    org_name = current_app.config["ORG_NAME"]
    context = {
        "org_name": org_name,
        "account_email": account.email,
        "sent_at": utcnow().strftime("%d %B %Y at %H:%M UTC"),
    }
    return system_message(
        to=account.email,
        subject=f"Test message from {org_name}",
        text=render_template("email/test_message.txt", **context),
        html=render_template("email/test_message.html", **context),
    )


def send_test_message(account_id: int) -> None:
    """Send the test message to an account's address (nothing if the account is gone)."""
    account = db.session.get(Account, account_id)
    if account is None:
        logger.info("test message skipped: account %s no longer exists", account_id)
        return
    with failures_recorded("test message", f"account:{account_id}", account.email):
        message = build_test_message(account)
        # End the read transaction first: the built-in sink writes to this same database.
        db.session.commit()
        send_system_message(message)
    logger.info("test message sent to account %s", account_id)
