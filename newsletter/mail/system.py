"""System mail: messages the application sends on its own behalf, not newsletters."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app, render_template

from newsletter.extensions import db
from newsletter.mail import SMTP_POLICY
from newsletter.mail.transport import transport_for
from newsletter.models import Account
from newsletter.models.base import utcnow

logger = logging.getLogger(__name__)


def system_message(to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A text and HTML message from MAIL_FROM_SYSTEM, marked as automatically generated."""
    sender = current_app.config["MAIL_FROM_SYSTEM"]
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    # RFC 3834: tells auto-responders not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_system_message(message: EmailMessage) -> None:
    """Send `message` to its To address through the app's transport."""
    envelope_from = parseaddr(current_app.config["MAIL_FROM_SYSTEM"])[1]
    recipient = parseaddr(str(message["To"]))[1]
    with transport_for(current_app) as transport:
        transport.send(message.as_bytes(policy=SMTP_POLICY), envelope_from, [recipient])


def build_test_message(account: Account) -> EmailMessage:
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
    message = build_test_message(account)
    # End the read transaction first: the built-in sink writes to this same database.
    db.session.commit()
    send_system_message(message)
    logger.info("test message sent to account %s", account_id)


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"
