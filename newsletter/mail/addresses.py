"""Addresses and headers as they go on the wire: the one place every kind of mail uses.

Stored addresses are email-validator's normalised form, which may hold Unicode in the local
part and in the domain; that form is what we store and mail (casefolded, it is only the key).
On the wire:
- to a relay that offers SMTPUTF8 (RFC 6531) an international address goes as stored, in the
  envelope (with the SMTPUTF8 parameter) and in its header (raw UTF-8, RFC 6532);
- otherwise an internationalised domain goes in its ASCII form (IDNA 2008, as email-validator's
  `ascii_domain`), and a non-ASCII local part cannot go at all: `InternationalAddressRefused`.
Display names and other text are RFC 2047 encoded words (base64, at most 75 characters each,
folded onto lines of their own) whenever the header is ASCII, so any Unicode survives; control
characters never reach a header, so no name or subject can add one.
"""

from __future__ import annotations

import base64
import functools
import re
from email.utils import parseaddr

import idna

from newsletter.mail.errors import InternationalAddressRefused, UnsendableMessage

# CR, LF, tab and every other control character, and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# A phrase that may go bare: atext words and spaces (RFC 5322 3.2.3), no encoded-word look.
_BARE_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
# 45 bytes make 60 base64 characters: with "=?utf-8?b?" and "?=" a word of 72 (RFC 2047: 75).
_WORD_BYTES = 45
MAX_LINE = 998


def international(address: str) -> bool:
    """True when the address holds anything but ASCII (a Unicode local part or domain)."""
    return not address.isascii()


@functools.lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    """The domain's ASCII (A-label, IDNA 2008) form, as email-validator's `ascii_domain`."""
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=False).decode("ascii")


def wire_address(address: str, smtputf8: bool) -> str:
    """The address as a relay takes it: as stored with SMTPUTF8, else in ASCII, or refused."""
    if not address.isprintable():
        # Validation keeps these out; a row written behind its back must not add SMTP commands.
        raise UnsendableMessage("the address holds line breaks or control characters")
    if smtputf8 or address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise InternationalAddressRefused()
    return f"{local}@{ascii_domain(domain)}"


def header_text(value: str) -> str:
    """`value` made fit for a header: control characters become a space, ends trimmed."""
    if value.isprintable():
        return value.strip()
    return _CONTROL.sub(" ", value).strip()


def encoded_words(text: str) -> str:
    """`text` as RFC 2047 base64 words, folded with CRLF and a space between them."""
    words, chunk = [], b""
    for char in text:
        encoded = char.encode()
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


def display_name(name: str, utf8: bool = False) -> str:
    """A display name as a phrase: bare, quoted, or encoded words (raw UTF-8 when `utf8`)."""
    name = header_text(name)
    if not name:
        return ""
    if (not name.isascii() and not utf8) or "=?" in name:
        # Text that looks like an encoded word is encoded too: some readers decode one even
        # inside quotes, which RFC 2047 forbids.
        return encoded_words(name)
    if name.isascii() and _BARE_PHRASE.fullmatch(name):
        return name
    # A quoted string: commas, quotes and the like stay text.
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line(field: str, phrase: str, angle: str) -> bytes:
    if not phrase:
        return f"{field}: {angle}\r\n".encode()
    line = f"{field}: {phrase} <{angle}>\r\n".encode()
    if len(line) <= MAX_LINE:
        return line
    # Folding whitespace may stand between the phrase and the address.
    return f"{field}: {phrase}\r\n <{angle}>\r\n".encode()


def address_header(field: str, name: str, address: str, smtputf8: bool = False) -> bytes:
    """`Field: name <address>` CRLF for one mailbox, as the relay can take it.

    Raises InternationalAddressRefused for a non-ASCII local part without SMTPUTF8.
    """
    wire = wire_address(address, smtputf8)
    utf8 = not wire.isascii()
    phrase = display_name(name, utf8)
    if utf8 and len(phrase.encode()) > MAX_LINE // 2:
        # A very long UTF-8 name cannot be folded inside its quotes; encoded words can.
        phrase = display_name(name)
    if not phrase:
        return f"{field}: {wire}\r\n".encode()
    return _line(field, phrase, wire)


def recipient_header(name: str, address: str, smtputf8: bool = False) -> bytes:
    """The `To` header of one recipient (see `address_header`)."""
    if not name and address.isascii():
        return b"To: " + address.encode() + b"\r\n"
    return address_header("To", name, address, smtputf8)


def sender_header(field: str, configured: str) -> bytes:
    """A From header from a setting such as MAIL_FROM (`Name <address>`), domain in ASCII."""
    name, address = parseaddr(configured)
    return address_header(field, name, address or configured)


def list_id_header(name: str, label: str) -> bytes:
    """`List-Id: name <label>` (RFC 2919), the list's name encoded as any display name."""
    return _line("List-Id", display_name(name), label)


def text_header(field: str, text: str) -> bytes:
    """An unstructured header (Subject): ASCII as it is, anything else as encoded words."""
    text = header_text(text)
    if text.isascii() and len(field) + len(text) + 4 <= MAX_LINE:
        return f"{field}: {text}\r\n".encode()
    return f"{field}: {encoded_words(text)}\r\n".encode()


def sender_domain(configured: str) -> str:
    """The ASCII domain of a From setting, for Message-IDs and Feedback-ID."""
    domain = parseaddr(configured)[1].rpartition("@")[2]
    return ascii_domain(domain) if domain else "localhost"
