"""Reading what the built-in sink captured: the outbox pages' data access."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import defer

from newsletter.extensions import db
from newsletter.models import OutboxMessage
from newsletter.search_text import contains_folded

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


@dataclass(frozen=True)
class OutboxPage:
    """One page of the outbox: its messages (without their raw bytes), newest first, and the
    id to page on from for older ones (None on the last page)."""

    items: list[OutboxMessage]
    older: int | None


def outbox_page(before: int | None = None, term: str = "", limit: int = PAGE_SIZE) -> OutboxPage:
    """Messages newest first, keyset-paged by id; with `term`, only those whose recipients or
    subject hold it (any case).

    Newest first is by id, the order the sink stored them in. A search reads back from the
    newest message (or `before`) and stops once it has a page of matches; there is no count.
    """
    query = (
        select(OutboxMessage)
        .options(defer(OutboxMessage.raw))
        .order_by(OutboxMessage.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    if term:
        # lower() and the term's spellings, not ILIKE: SQLite's LIKE ignores the case of A to
        # Z only, and neither database's folds ß or ς (search_text.py).
        query = query.where(
            sa.or_(
                contains_folded(sa.func.lower(OutboxMessage.recipients), term),
                contains_folded(sa.func.lower(OutboxMessage.subject), term),
            )
        )
    rows = list(db.session.scalars(query))
    older = rows[limit - 1].id if len(rows) > limit else None
    return OutboxPage(items=rows[:limit], older=older)


def raw_message(message_id: int) -> bytes:
    """The message exactly as the sink received it, or a 404."""
    return db.get_or_404(OutboxMessage, message_id).raw


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
