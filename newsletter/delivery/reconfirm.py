"""A reconfirmation's message: the confirmation request, built once, each person's link cut in.

An import run with `--consent reconfirm` leaves its people pending; the admin's deliberate
action (`start_reconfirmation` in newsletter/reconfirmation.py) makes an issue of kind
`reconfirmation` whose ledger holds those people, and the delivery engine sends it like any
issue: paced, pausable, crash-safe. The message is the system confirmation mail (templates/email/
confirmation.*): from MAIL_FROM_SYSTEM, `Auto-Submitted: auto-generated`, no List-Unsubscribe
(confirming is the only thing the link does; ignoring the mail leaves the person unsubscribed).
It is rendered once per batch and each recipient costs a join, as `IssueMessage` does.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email.utils import format_datetime

import sqlalchemy as sa
from flask import current_app, render_template

from newsletter.delivery.ledger import DELIVERY
from newsletter.delivery.message import (
    TOKEN_PLACEHOLDER,
    URL_PLACEHOLDER,
    _encoded_values,
    _fold,
    _Part,
)
from newsletter.mail.addresses import recipient_header, sender_domain, sender_header, text_header
from newsletter.models import DeliveryStatus, Issue, IssueList, Subscriber, Subscription
from newsletter.models.base import utcnow
from newsletter.subscriber_links import ConfirmLinkSigner
from newsletter.urls import external_url

# The confirm link fills the slot the unsubscribe link has in an issue (letters and digits).
CONFIRM_MARKER = URL_PLACEHOLDER


def confirmation_subject() -> str:
    return f"Confirm your subscription to {current_app.config['ORG_NAME']}"


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
        self.boundary = f"=_nl_r{issue.id}_{secrets.token_hex(8)}"
        self.message_id_suffix = f".r{issue.id}.{int(date.timestamp())}@{domain}>\r\n"
        self.head = b"".join(
            (
                sender_header("From", sender),
                text_header("Subject", issue.subject),
                _fold("Date", format_datetime(date)),
                b"MIME-Version: 1.0\r\n",
                # RFC 3834: auto-responders must not answer.
                b"Auto-Submitted: auto-generated\r\n",
                f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n'.encode(),
            )
        )
        self.parts = [
            _Part("plain", render_template("email/confirmation.txt", **context)),
            _Part("html", render_template("email/confirmation.html", **context)),
        ]

    def for_recipient(
        self,
        delivery_id: int,
        email: str,
        name: str,
        token: str,
        subscriber_id: int | None = None,
        smtputf8: bool = False,
    ) -> bytes:
        confirm_token = self.confirm_links.token(subscriber_id, token)
        url = self.confirm_url.replace(TOKEN_PLACEHOLDER, confirm_token)
        encoded = _encoded_values({CONFIRM_MARKER.encode(): url})
        boundary = self.boundary.encode()
        pieces = [
            recipient_header(name, email, smtputf8),
            f"Message-ID: <{delivery_id}{self.message_id_suffix}".encode(),
            self.head,
            b"\r\n",
        ]
        for part in self.parts:
            pieces += [b"--", boundary, b"\r\n", part.head, part.body(encoded), b"\r\n"]
        pieces += [b"--", boundary, b"--\r\n"]
        return b"".join(pieces)


def mark_confirmation_sent(connection: sa.Connection, delivery_ids: list[int]) -> None:
    """Note on each person whose request was recorded sent that a confirmation mail named the
    issue's list, and count it against the address (newsletter/confirmation.py)."""
    if not delivery_ids:
        return
    from newsletter.confirmation import CONFIRMATION_INTERVAL

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
    same_day = subscriber.c.confirmation_sent_at >= now - CONFIRMATION_INTERVAL
    connection.execute(
        sa.update(subscriber)
        .where(subscriber.c.id.in_(sent))
        .values(
            confirmation_mails=sa.case((same_day, subscriber.c.confirmation_mails + 1), else_=1),
            confirmation_sent_at=now,
        )
    )
