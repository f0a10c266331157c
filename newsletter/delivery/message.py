"""The issue's message, built once, and the per-recipient bytes cut from it (the fast path).

Building an `EmailMessage` per recipient costs about thirty times rendering the issue
(DESIGN.md, "Sending fast"). So the issue is rendered once per batch (`newsletter/compose/`),
its headers folded and its parts quoted-printable-encoded once and cut at the per-recipient
markers (unsubscribe and preferences links, name, address), and each recipient costs a join of
those pieces with its own values, escaped for each part, plus the To header, a Message-ID and
List-Unsubscribe. The values go into the encoded parts between soft line breaks, so every
encoded line stays within the 76 characters quoted-printable allows.
"""

from __future__ import annotations

import binascii
import re
import secrets
from datetime import datetime
from email.utils import format_datetime

from flask import current_app
from markupsafe import escape

from newsletter.compose.placeholders import BY_PATH, NAME_FALLBACK, PLACEHOLDERS
from newsletter.compose.render import RenderedIssue, markdown_to_html, render_issue
from newsletter.mail import SMTP_POLICY, return_path
from newsletter.mail.addresses import (
    header_text,
    list_id_header,
    recipient_header,
    sender_domain,
    sender_header,
    text_header,
)
from newsletter.models import Issue
from newsletter.subscriber_links import PreferencesLinkSigner
from newsletter.urls import external_url

__all__ = ["IssueMessage", "RenderedIssue", "markdown_to_html", "render_issue"]

# Letters and digits only: quoted-printable and URLs leave them as they are.
URL_PLACEHOLDER = BY_PATH[("unsubscribe_url",)].marker
PREFERENCES_PLACEHOLDER = BY_PATH[("preferences_url",)].marker
NAME_PLACEHOLDER = BY_PATH["subscriber", "name"].marker
EMAIL_PLACEHOLDER = BY_PATH["subscriber", "email"].marker
RECIPIENT_MARKERS = tuple(p.marker for p in PLACEHOLDERS if p.per_recipient)
TOKEN_PLACEHOLDER = "NLtokenQ4z"
# A test message names nobody: its links carry this instead of a token, and lead nowhere.
TEST_TOKEN = "test-message"
_QP_LINE = 73


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


_QP_LITERAL = bytes(range(33, 127)).replace(b"=", b"")


def _qp_inline(value: bytes) -> bytes:
    """`value` quoted-printable-encoded between soft line breaks, in lines of 73 characters."""
    if not value.translate(None, _QP_LITERAL):
        # The usual URL: nothing to escape, only lines to cut.
        lines = [value[n : n + _QP_LINE] for n in range(0, len(value), _QP_LINE)]
        return b"=\r\n" + b"=\r\n".join(lines) + b"=\r\n"
    escaped = [bytes((c,)) if 33 <= c <= 126 and c != 61 else b"=%02X" % c for c in value]
    lines, line = [], b""
    for piece in escaped:
        if len(line) + len(piece) > _QP_LINE:
            lines.append(line)
            line = b""
        line += piece
    lines.append(line)
    return b"=\r\n" + b"=\r\n".join(lines) + b"=\r\n"


def _qp_segment(raw: bytes) -> bytes:
    """`raw` quoted-printable-encoded, its last line short enough to take a soft break."""
    encoded = binascii.b2a_qp(raw, istext=True)
    if b"\r\n" not in raw:
        # With no line ending to copy, the encoder writes its soft breaks as bare LF.
        encoded = encoded.replace(b"=\n", b"=\r\n")
    start = encoded.rfind(b"\r\n") + 2 if b"\r\n" in encoded else 0
    last = encoded[start:]
    if len(last) < _QP_LINE:
        return encoded
    # A marker follows this line after a soft break ("="): cut the line first, never inside an
    # escape ("=XX").
    cut = _QP_LINE - 3
    while b"=" in last[cut - 2 : cut]:
        cut -= 1
    return encoded[:start] + last[:cut] + b"=\r\n" + last[cut:]


class _Part:
    """One quoted-printable text part, encoded once in pieces cut at its per-recipient markers.

    The text between markers is encoded on its own and each recipient's values go between soft
    line breaks, so no marker can be split by the encoder's line wrapping, wherever the layout
    or the CSS inliner put it.
    """

    def __init__(self, subtype: str, content: str) -> None:
        self.html = subtype == "html"
        raw = _crlf(content)
        self.head = (
            f"Content-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode()
        self.markers = [m.encode() for m in RECIPIENT_MARKERS if m.encode() in raw]
        if not self.markers:
            self.pieces = [binascii.b2a_qp(raw, istext=True)]
            self.slots: list[tuple[int, bytes]] = []
            return
        # Even indices: encoded text; odd indices: a marker, filled per recipient.
        split = re.split(b"(" + b"|".join(self.markers) + b")", raw)
        self.pieces = [piece if n % 2 else _qp_segment(piece) for n, piece in enumerate(split)]
        self.slots = [(n, piece) for n, piece in enumerate(split) if n % 2]

    def body(self, encoded: dict[bytes, tuple[bytes, bytes]]) -> bytes:
        """The part's body for one recipient: marker → (encoded text value, encoded HTML value)."""
        if not self.slots:
            return self.pieces[0]
        pieces = self.pieces.copy()
        which = 1 if self.html else 0
        for n, marker in self.slots:
            pieces[n] = encoded[marker][which]
        return b"".join(pieces)


def _encoded_values(values: dict[bytes, str]) -> dict[bytes, tuple[bytes, bytes]]:
    """Marker → the value quoted-printable-encoded for the text part and, escaped, the HTML."""
    encoded = {}
    for marker, value in values.items():
        text = _qp_inline(value.encode())
        escaped = str(escape(value))
        encoded[marker] = (text, text if escaped == value else _qp_inline(escaped.encode()))
    return encoded


def _fold(name: str, value: str) -> bytes:
    """`Name: value` CRLF for an ASCII header (Date, Feedback-ID), by the email package."""
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


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
        self.boundary = f"=_nl_{issue.id}_{secrets.token_hex(8)}"
        self.message_id_suffix = f".{issue.id}.{int(date.timestamp())}@{self.domain}>\r\n"
        subject = header_text(subject_prefix + rendered.subject)
        # A subject naming the person is folded per recipient; the usual one, once.
        self.subject = subject if any(m in subject for m in RECIPIENT_MARKERS) else None
        self.head = b"".join(
            (
                sender_header("From", mail_from),
                b"" if self.subject else text_header("Subject", subject),
                _fold("Date", format_datetime(date)),
                b"MIME-Version: 1.0\r\n",
                list_id_header(primary.name, primary.list_id_label),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                b"Precedence: bulk\r\n",
                _fold("Feedback-ID", f"{issue.id}:{primary.slug}:newsletter:{self.domain}"),
                f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n'.encode(),
            )
        )
        self.parts = [_Part("plain", rendered.text), _Part("html", rendered.html)]
        self.used_markers = {marker for part in self.parts for marker in part.markers}

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
        delivery_id: int,
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
        boundary = self.boundary.encode()
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
        pieces += [self.head, b"\r\n"]
        encoded = _encoded_values({m: values[m] for m in self.used_markers})
        for part in self.parts:
            pieces += [b"--", boundary, b"\r\n", part.head, part.body(encoded), b"\r\n"]
        pieces += [b"--", boundary, b"--\r\n"]
        return b"".join(pieces)
