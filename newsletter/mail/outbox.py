"""Reading what the built-in sink captured: the outbox pages' data access."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import defer

from newsletter.extensions import db
from newsletter.models import OutboxMessage

PAGE_SIZE = 50


@dataclass(frozen=True)
class CapturedMessage:
    """One outbox message taken apart for display."""

    row: OutboxMessage
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None

    def header(self, name: str) -> str | None:
        """The first header called `name` (any case), decoded."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def outbox_page(page: int) -> Pagination:
    """One page of captured messages, newest first, without their raw bytes."""
    query = (
        select(OutboxMessage)
        .options(defer(OutboxMessage.raw))
        .order_by(OutboxMessage.received_at.desc(), OutboxMessage.id.desc())
    )
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def captured_message(message_id: int) -> CapturedMessage:
    """The outbox message with its headers and text and HTML bodies, or a 404."""
    row = db.get_or_404(OutboxMessage, message_id)
    parsed = email.message_from_bytes(row.raw, policy=policy.default)
    return CapturedMessage(
        row=row,
        headers=[(name, _header_text(name, value)) for name, value in parsed.raw_items()],
        text=_body(parsed, "plain"),
        html=_body(parsed, "html"),
    )


def _header_text(name: str, raw: str) -> str:
    try:
        return str(policy.default.header_fetch_parse(name, raw))
    except (ValueError, IndexError, TypeError):
        # A header too malformed to decode is shown as it was sent.
        return raw


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        # An unknown charset: show the bytes as UTF-8 rather than nothing.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    # The wire's CRLF line endings would show as stray characters in <pre>.
    return content.replace("\r\n", "\n")
