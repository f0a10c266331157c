"""Reading a report that came back: a delivery status notification or an abuse complaint.

DSNs (RFC 3464) are read from their `message/delivery-status` part: the Status code of a
recipient whose Action is `failed` decides hard (5.x.x) or soft (4.x.x); `delayed` only says the
message is still being tried, so it is not a bounce. Reports in older, non-standard shapes
(Exim's, qmail's, Yahoo's and old Exchange's plain text) go to flufl.bounce's detectors, whose
permanent and temporary findings mean hard and soft. Abuse reports (RFC 5965 ARF, as Yahoo's and
Microsoft's feedback loops send them) are complaints; the return path of the original message
inside them names the delivery complained about.

Nothing here writes to a log or the database: it only reads bytes. The work is bounded
whatever the bytes: the receiver hands over at most BOUNCE_MAX_MESSAGE_BYTES, the detectors
see only the first HEURISTICS_BYTES (their cost grows with every line, and the notice they
look for is at the top), and a report part is read for at most MAX_BLOCKS header blocks.
"""

from __future__ import annotations

import email
import logging
import re
import unicodedata
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from flufl.bounce import all_failures

from newsletter.models import BounceKind

# flufl.bounce logs each detector it runs at INFO, and a detector tripping on a stranger's
# message as an ERROR with its traceback: anyone who can send us mail could fill the log. The
# receiver logs one line of its own for each message.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# ARF feedback types that mean "this person did not want it" (RFC 5965 section 7.3).
_COMPLAINT_TYPES = {"abuse", "fraud", "other"}
_DIAGNOSTIC_MAX = 500
# flufl.bounce's pattern detectors try each pattern on each line: a megabyte of blank lines
# costs seconds. Every sample bounce of flufl.bounce is recognised from its first 4 KB.
HEURISTICS_BYTES = 32 * 1024
# The per-message block and the per-recipient blocks of a DSN; we send to one recipient, and
# a relay batching its reports names a few.
MAX_BLOCKS = 100


@dataclass(frozen=True)
class Report:
    """What a received message says; `kind` None means nothing to act on (and `why` says why)."""

    kind: BounceKind | None
    status_code: str = ""
    detector: str = ""
    diagnostic: str = ""
    # The return paths found in the original message a complaint quotes.
    return_paths: tuple[str, ...] = ()
    why: str = ""

    def __post_init__(self) -> None:
        # The texts come from a stranger's message and are stored: no NUL (PostgreSQL refuses
        # it in text) and no other control character, whitespace runs made one space.
        for name in ("status_code", "diagnostic", "why"):
            object.__setattr__(self, name, _printable(getattr(self, name)))


def _printable(text: str) -> str:
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


def read_report(raw: bytes, return_path_pattern: re.Pattern[str]) -> Report:
    """Classify one received message; never raises on malformed input."""
    try:
        message = email.message_from_bytes(raw)
    except Exception:  # the email package can still trip on pathological input
        return Report(None, why="unparseable message")
    try:
        if _feedback_part(message) is not None:
            return _complaint(message, return_path_pattern)
        report = _from_dsn(message)
        if report is not None:
            return report
        if len(raw) > HEURISTICS_BYTES:
            message = email.message_from_bytes(raw[:HEURISTICS_BYTES])
        return _from_heuristics(message)
    except Exception:
        # A third-party detector or a broken MIME tree: drop the message, never the server.
        return Report(None, why="unreadable report")


def _parts(message: Message, maintype: str, subtype: str):
    for part in message.walk():
        if part.get_content_maintype() == maintype and part.get_content_subtype() == subtype:
            yield part


def _feedback_part(message: Message) -> Message | None:
    return next(_parts(message, "message", "feedback-report"), None)


def _decoded(part: Message, charset: str) -> str:
    """A part's payload with its transfer encoding undone, as text ("" when it has none)."""
    payload = part.get_payload(decode=True)
    return payload.decode(charset, "replace") if isinstance(payload, bytes) else ""


def _blocks(part: Message | None) -> list[Message]:
    """The header blocks of a message/feedback-report or message/delivery-status part."""
    if part is None:
        return []
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload[:MAX_BLOCKS] if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    # Some senders encode the part; the email package leaves it as text then.
    if part.get("content-transfer-encoding", "").lower() in {"quoted-printable", "base64"}:
        text = _decoded(part, "utf-8")
    chunks = re.split(r"\r?\n\r?\n", text, maxsplit=MAX_BLOCKS)[:MAX_BLOCKS]
    return [HeaderParser().parsestr(chunk) for chunk in chunks if chunk]


def _complaint(message: Message, pattern: re.Pattern[str]) -> Report:
    fields = _blocks(_feedback_part(message))
    feedback_type = (fields[0].get("feedback-type", "") if fields else "").strip().lower()
    if feedback_type not in _COMPLAINT_TYPES:
        return Report(None, detector="arf", why=f"feedback type {feedback_type or 'missing'}")
    return Report(
        BounceKind.COMPLAINT,
        detector="arf",
        diagnostic=f"feedback type {feedback_type}",
        return_paths=tuple(_return_paths_in_original(message, pattern)),
    )


def _return_paths_in_original(message: Message, pattern: re.Pattern[str]) -> list[str]:
    """Our return paths in the quoted original: Return-Path first, then any other header."""
    found: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            originals = [p for p in part.get_payload() if isinstance(p, Message)]
        elif part.get_content_type() == "text/rfc822-headers":
            originals = [HeaderParser().parsestr(_decoded(part, "latin-1"))]
        else:
            continue
        for original in originals:
            headers = original.get_all("return-path", []) + [
                str(value) for name, value in original.items() if name.lower() != "return-path"
            ]
            for value in headers:
                found += [m.group(0) for m in pattern.finditer(str(value))]
    return list(dict.fromkeys(found))


def _status_of(block: Message) -> str:
    for header in ("status", "diagnostic-code"):
        match = _STATUS.search(block.get(header, ""))
        if match:
            return match.group(0)
    return ""


def _from_dsn(message: Message) -> Report | None:
    """The report a DSN makes, or None when the message has no readable DSN part."""
    for part in _parts(message, "message", "delivery-status"):
        recipients = _blocks(part)[1:]
        actions = [(b.get("action", "").strip().lower(), b) for b in recipients]
        failed = [b for action, b in actions if action.startswith(("fail", "error"))]
        if not failed:
            if any(action.startswith("delayed") for action, _ in actions):
                return Report(None, detector="dsn", why="delay notice, still being tried")
            if actions:
                return Report(None, detector="dsn", why="no failed recipient")
            continue
        block = failed[0]
        status = _status_of(block)
        kind = BounceKind.SOFT if status.startswith("4") else BounceKind.HARD
        diagnostic = " ".join(block.get("diagnostic-code", "").split())[:_DIAGNOSTIC_MAX]
        return Report(kind, status_code=status, detector="dsn", diagnostic=diagnostic)
    return None


def _from_heuristics(message: Message) -> Report:
    """flufl.bounce's detectors for reports that are not DSNs."""
    temporary, permanent = all_failures(message)
    if not temporary and not permanent:
        return Report(None, detector="flufl.bounce", why="not recognised as a bounce")
    kind = BounceKind.HARD if permanent else BounceKind.SOFT
    status = ""
    for part in message.walk():
        if part.get_content_maintype() == "text":
            match = _STATUS.search(_decoded(part, "latin-1"))
            if match and match.group(1) in "45":
                status = match.group(0)
                break
        if part.get_content_type() == "message/rfc822":
            break  # the quoted original may hold anything
    if status.startswith("4") and permanent:
        status = ""  # the text's code contradicts the detector; keep the detector's verdict
    return Report(kind, status_code=status, detector="flufl.bounce")
