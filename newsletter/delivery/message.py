"""The issue's message, built once, and the per-recipient bytes cut from it (the fast path).

Building an `EmailMessage` per recipient costs about thirty times rendering the issue
(DESIGN.md, "Sending fast"). So the issue is rendered once per batch, its headers folded and its
parts quoted-printable-encoded once with a placeholder where the unsubscribe URL goes, and each
recipient costs a few `bytes.replace` calls: the To header, a Message-ID, List-Unsubscribe and
the URL in both parts. The URL goes into the encoded parts between soft line breaks, so every
encoded line stays within the 76 characters quoted-printable allows.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr

from flask import current_app, render_template
from markdown_it import MarkdownIt
from markupsafe import Markup

from newsletter.mail import SMTP_POLICY
from newsletter.models import Issue
from newsletter.urls import external_url

# Letters and digits only: quoted-printable and URLs leave them as they are.
URL_PLACEHOLDER = "NLunsubscribeURL7q"
TOKEN_PLACEHOLDER = "NLtokenQ4z"
_QP_LINE = 73


@dataclass(frozen=True)
class RenderedIssue:
    """The issue's subject, HTML and text, the unsubscribe URL still a placeholder."""

    subject: str
    html: str
    text: str


def markdown_to_html(source: str) -> str:
    """Markdown as HTML; raw HTML in the source is escaped, not passed through.

    The "js-default" preset (CommonMark with tables and strikethrough) turns HTML off and
    refuses javascript: and similar links. Sanitising with a allow-list and the house layouts
    come with the composing issue.
    """
    return MarkdownIt("js-default").render(source)


def render_issue(issue: Issue) -> RenderedIssue:
    """Render the issue into the default layout (once per batch, not per recipient)."""
    config = current_app.config
    context = {
        "subject": issue.subject,
        "list_names": ", ".join(ml.name for ml in issue.lists),
        "org_name": config["ORG_NAME"],
        "org_address": config["ORG_ADDRESS"],
        "unsubscribe_url": URL_PLACEHOLDER,
    }
    html = render_template(
        "email/issue_default.html", body_html=Markup(markdown_to_html(issue.body_markdown)),
        **context,
    )  # fmt: skip
    text = render_template(
        "email/issue_default.txt", body_text=issue.body_markdown.strip(), **context
    )
    return RenderedIssue(subject=issue.subject, html=html, text=text)


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


class _Part:
    """One quoted-printable text part with the URL placeholder."""

    def __init__(self, subtype: str, content: str) -> None:
        self.raw = _crlf(content)
        self.head = (
            f"Content-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode()
        self.encoded = binascii.b2a_qp(self.raw, istext=True)
        placeholder = URL_PLACEHOLDER.encode()
        # The encoder wraps long lines; if it cut a placeholder, encode per recipient instead.
        self.fast = self.encoded.count(placeholder) == self.raw.count(placeholder)

    def body(self, url: bytes, encoded_url: bytes) -> bytes:
        """The part's encoded body for one recipient; `encoded_url` is `_qp_inline(url)`."""
        placeholder = URL_PLACEHOLDER.encode()
        if self.fast:
            return self.encoded.replace(placeholder, encoded_url)
        return binascii.b2a_qp(self.raw.replace(placeholder, url), istext=True)


def _fold(name: str, value: str) -> bytes:
    """`Name: value` CRLF, non-ASCII text as RFC 2047 words, by the email package's rules."""
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


def _header_safe(value: str) -> str:
    if "\r" not in value and "\n" not in value and "\t" not in value:
        return value.strip()
    return re.sub(r"[\r\n\t]+", " ", value).strip()


class IssueMessage:
    """An issue's message for many recipients: `for_recipient` returns CRLF bytes to send."""

    def __init__(self, issue: Issue, rendered: RenderedIssue, date: datetime) -> None:
        config = current_app.config
        mail_from = config["MAIL_FROM"]
        self.domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
        primary = issue.primary_list
        self.unsubscribe_url = external_url(
            "public.unsubscribe_issue", token=TOKEN_PLACEHOLDER, issue_id=issue.id
        )
        self.boundary = f"=_nl_{issue.id}_{secrets.token_hex(8)}"
        self.message_id_suffix = f".{issue.id}.{int(date.timestamp())}@{self.domain}>\r\n"
        self.head = b"".join(
            (
                _fold("From", mail_from),
                _fold("Subject", _header_safe(rendered.subject)),
                _fold("Date", format_datetime(date)),
                b"MIME-Version: 1.0\r\n",
                _fold("List-Id", formataddr((_header_safe(primary.name), primary.list_id_label))),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                b"Precedence: bulk\r\n",
                _fold("Feedback-ID", f"{issue.id}:{primary.slug}:newsletter:{self.domain}"),
                f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n'.encode(),
            )
        )
        self.parts = [_Part("plain", rendered.text), _Part("html", rendered.html)]

    def for_recipient(self, delivery_id: int, email: str, name: str, token: str) -> bytes:
        """The message for one recipient: To, Message-ID and unsubscribe URL filled in."""
        url = self.unsubscribe_url.replace(TOKEN_PLACEHOLDER, token).encode()
        encoded_url = _qp_inline(url)
        name = _header_safe(name)
        boundary = self.boundary.encode()
        pieces = [
            # The email package folds a non-ASCII name into RFC 2047 words (about 0.3 ms);
            # formataddr only quotes an ASCII one, fifty times faster.
            f"To: {formataddr((name, email))}\r\n".encode()
            if name.isascii()
            else _fold("To", formataddr((name, email))),
            f"Message-ID: <{delivery_id}{self.message_id_suffix}".encode(),
            b"List-Unsubscribe: <" + url + b">\r\n",
            self.head,
            b"\r\n",
        ]
        for part in self.parts:
            pieces += [b"--", boundary, b"\r\n", part.head, part.body(url, encoded_url), b"\r\n"]
        pieces += [b"--", boundary, b"--\r\n"]
        return b"".join(pieces)
