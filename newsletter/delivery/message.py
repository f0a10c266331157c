"""An issue's message, built once, and the per-recipient bytes cut from it.

Building an `EmailMessage` per recipient costs far more than rendering the issue, so the
issue is rendered once per batch (`newsletter/compose/`) into the one MIME skeleton
(`mail/message.py`), and each recipient costs a join of its pieces with their own values (the
unsubscribe and preferences links, name, address), plus the To header, a Message-ID and
List-Unsubscribe. Test sends and the admin's preview use the same message.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from flask import current_app, render_template

from newsletter.compose.placeholders import BY_PATH, NAME_FALLBACK, PLACEHOLDERS
from newsletter.compose.render import RenderedIssue
from newsletter.mail import return_path
from newsletter.mail.addresses import (
    header_text,
    list_id_header,
    recipient_header,
    sender_domain,
    sender_header,
    text_header,
)
from newsletter.mail.message import Skeleton, fold
from newsletter.models import Issue
from newsletter.subscriptions.links import ConfirmLinkSigner, PreferencesLinkSigner
from newsletter.urls import external_url

# Letters and digits only: quoted-printable and URLs leave them as they are.
URL_PLACEHOLDER = BY_PATH[("unsubscribe_url",)].marker
PREFERENCES_PLACEHOLDER = BY_PATH[("preferences_url",)].marker
NAME_PLACEHOLDER = BY_PATH["subscriber", "name"].marker
EMAIL_PLACEHOLDER = BY_PATH["subscriber", "email"].marker
RECIPIENT_MARKERS = tuple(p.marker for p in PLACEHOLDERS if p.per_recipient)
TOKEN_PLACEHOLDER = "NLtokenQ4z"
# The confirm link fills the slot the unsubscribe link has in an issue (letters and digits).
CONFIRM_MARKER = URL_PLACEHOLDER
# A test message names nobody: its links carry this instead of a token, and lead nowhere.
TEST_TOKEN = "test-message"


class IssueMessage:
    """An issue's message for many recipients: `for_recipient` returns CRLF bytes to send.

    `subject_prefix` ("[TEST] ") marks a test send; `message_id_prefix` keeps its ids apart.
    """

    def __init__(
        self, issue: Issue, rendered: RenderedIssue, date: datetime, subject_prefix: str = ""
    ) -> None:
        config = current_app.config
        mail_from = config["MAIL_FROM"]
        self.domain = sender_domain(mail_from)
        primary = issue.primary_list
        self.unsubscribe_url = external_url(
            "public.unsubscribe_issue", token=TOKEN_PLACEHOLDER, issue_id=issue.id
        )
        self.preferences_url = external_url("public.preferences", token=TOKEN_PLACEHOLDER)
        self.preferences_links = PreferencesLinkSigner()
        self.return_paths = return_path.signer()
        self.message_id_suffix = f".{issue.id}.{int(date.timestamp())}@{self.domain}>\r\n"
        subject = header_text(subject_prefix + rendered.subject)
        # A subject naming the person is folded per recipient; the usual one, once.
        self.subject = subject if any(m in subject for m in RECIPIENT_MARKERS) else None
        headers = b"".join(
            (
                sender_header("From", mail_from),
                b"" if self.subject else text_header("Subject", subject),
                fold("Date", format_datetime(date)),
            )
        )
        after_mime = b"".join(
            (
                list_id_header(primary.name, primary.list_id_label),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                b"Precedence: bulk\r\n",
                fold("Feedback-ID", f"{issue.id}:{primary.slug}:newsletter:{self.domain}"),
            )
        )
        self.skeleton = Skeleton(
            headers, rendered.text, rendered.html,
            markers=RECIPIENT_MARKERS, after_mime=after_mime, tag=str(issue.id),
        )  # fmt: skip

    def values(
        self, email: str, name: str, token: str, subscriber_id: int | None
    ) -> dict[bytes, str]:
        """Marker → plain text for one recipient (each part escapes it for itself)."""
        if subscriber_id is None:
            preferences_token = TEST_TOKEN
        else:
            preferences_token = self.preferences_links.token(subscriber_id, token)
        return {
            URL_PLACEHOLDER.encode(): self.unsubscribe_url.replace(TOKEN_PLACEHOLDER, token),
            PREFERENCES_PLACEHOLDER.encode(): self.preferences_url.replace(
                TOKEN_PLACEHOLDER, preferences_token
            ),
            NAME_PLACEHOLDER.encode(): name or NAME_FALLBACK,
            EMAIL_PLACEHOLDER.encode(): email,
        }

    def _list_unsubscribe(self, delivery_id: int | str, url: bytes) -> bytes:
        """The https link and, for a real delivery, the mailto the bounce receiver takes."""
        if not isinstance(delivery_id, int):  # a preview or a test send
            return b"List-Unsubscribe: <" + url + b">\r\n"
        mailto = self.return_paths.unsubscribe_address(delivery_id).encode()
        return b"List-Unsubscribe: <" + url + b">, <mailto:" + mailto + b">\r\n"

    def for_recipient(
        self,
        delivery_id: int | str,
        email: str,
        name: str,
        token: str,
        subscriber_id: int | None = None,
        smtputf8: bool = False,
    ) -> bytes:
        """The message for one recipient: To, Message-ID and every placeholder filled in.

        Without `subscriber_id` (a test send) the preferences link carries no token. `smtputf8`
        (the transport's `smtputf8_for`) says how an international address is written.
        """
        values = self.values(email, name, token, subscriber_id)
        url = values[URL_PLACEHOLDER.encode()].encode()
        pieces = [
            recipient_header(name, email, smtputf8),
            f"Message-ID: <{delivery_id}{self.message_id_suffix}".encode(),
            self._list_unsubscribe(delivery_id, url),
        ]
        if self.subject is not None:
            subject = self.subject
            for marker, value in values.items():
                subject = subject.replace(marker.decode(), value)
            pieces.append(text_header("Subject", subject))
        return self.skeleton.fill(pieces, values)


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
