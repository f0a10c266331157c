"""Opaque page cursors: keyset paging without ids a caller would build by hand."""

from __future__ import annotations

from newsletter.models.base import MAX_ID

# Cursors are opaque to callers: the id to continue after, in base 36 behind a "c". Every
# string the documented pattern allows is one (schemathesis found a cursor the pattern allowed
# and the API refused), so a cursor is either well-formed or refused by validation.
CURSOR_PATTERN = r"^c[0-9a-z]{1,7}$"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_cursor(after: int | None) -> str | None:
    if after is None:
        return None
    digits = ""
    while True:
        after, digit = divmod(after, 36)
        digits = _DIGITS[digit] + digits
        if not after:
            return "c" + digits


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor continues after (the model has checked its form)."""
    if not cursor:
        return None
    return min(int(cursor[1:], 36), MAX_ID)
