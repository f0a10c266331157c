"""The one MIME skeleton of every mail the application sends.

Every message is `multipart/alternative` with a text and an HTML part, quoted-printable,
built once and sent to one person or many: its fixed headers are folded and its parts encoded
once, cut at the per-recipient markers (placeholders of letters and digits), and each
recipient costs a join of those pieces with their own values, escaped for each part, behind
their own leading headers (To, Message-ID and the like). The values go into the encoded parts
between soft line breaks, so every encoded line stays within the 76 characters
quoted-printable allows, and no marker can be split by the encoder's line wrapping.

Issues and test sends (delivery/message.py), reconfirmation requests
(delivery/reconfirmation.py) and system mail (mail/system.py: confirmations, preferences
links, the admin's test message) all build on `Skeleton`.
"""

from __future__ import annotations

import binascii
import re
import secrets

from markupsafe import escape

from newsletter.mail import SMTP_POLICY

_QP_LINE = 73
_QP_LITERAL = bytes(range(33, 127)).replace(b"=", b"")


def crlf(text: str) -> bytes:
    """`text` with CRLF line endings, UTF-8."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def fold(name: str, value: str) -> bytes:
    """`Name: value` CRLF for an ASCII header (Date, Feedback-ID), by the email package."""
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


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


class Part:
    """One quoted-printable text part, encoded once in pieces cut at its per-recipient markers."""

    def __init__(self, subtype: str, content: str, markers: tuple[str, ...]) -> None:
        self.html = subtype == "html"
        raw = crlf(content)
        self.head = (
            f"Content-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode()
        self.markers = [m.encode() for m in markers if m.encode() in raw]
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


class Skeleton:
    """A text and HTML message built once; `fill` makes one recipient's CRLF bytes of it.

    `headers` are the message's fixed headers, folded (From, Subject, Date, ...): the skeleton
    adds MIME-Version, after them whatever `after_mime` holds, and the Content-Type. `markers`
    are the placeholders `fill` replaces in the parts; `tag` goes into the boundary.
    """

    def __init__(
        self,
        headers: bytes,
        text: str,
        html: str,
        *,
        markers: tuple[str, ...] = (),
        after_mime: bytes = b"",
        tag: str = "",
    ) -> None:
        self.boundary = f"=_nl_{tag}_{secrets.token_hex(8)}".encode()
        self.head = b"".join(
            (
                headers,
                b"MIME-Version: 1.0\r\n",
                after_mime,
                b'Content-Type: multipart/alternative; boundary="' + self.boundary + b'"\r\n',
            )
        )
        self.parts = [Part("plain", text, markers), Part("html", html, markers)]
        self.used_markers = {marker for part in self.parts for marker in part.markers}

    def fill(self, leading: list[bytes], values: dict[bytes, str] | None = None) -> bytes:
        """The message for one recipient: `leading` headers, then the fixed ones and the parts
        with each marker (bytes) in `values` replaced by its value (plain text)."""
        values = values or {}
        encoded = _encoded_values({m: values[m] for m in self.used_markers})
        pieces = [*leading, self.head, b"\r\n"]
        for part in self.parts:
            pieces += [b"--", self.boundary, b"\r\n", part.head, part.body(encoded), b"\r\n"]
        pieces += [b"--", self.boundary, b"--\r\n"]
        return b"".join(pieces)
