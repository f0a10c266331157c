"""Sending over SMTP: SMTP_URL parsing, one reused connection, and errors sorted by what to do."""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from newsletter.errors import ConfigError
from newsletter.mail.addresses import wire_address
from newsletter.mail.errors import (
    InternationalAddressRefused,
    PermanentSmtpError,
    SmtpError,
    ThrottledSmtpError,
    TransientSmtpError,
)

logger = logging.getLogger(__name__)

SCHEMES = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
THROTTLE_CODES = frozenset({421, 450, 451, 452})
__all__ = [
    "InternationalAddressRefused",
    "PermanentSmtpError",
    "SmtpError",
    "SmtpSettings",
    "SmtpTransport",
    "ThrottledSmtpError",
    "TransientSmtpError",
]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect; `security` is plain, starttls or tls (implicit TLS)."""

    host: str
    port: int
    security: str = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpSettings:
    """SmtpSettings from `smtp://`, `smtp+starttls://` or `smtps://[user:pass@]host:port`."""
    # Errors below never repeat the URL: it may hold the relay's password.
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ConfigError("SMTP_URL is not a valid URL") from None
    security = SCHEMES.get(parts.scheme.lower())
    if security is None:
        raise ConfigError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    try:
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError:
        raise ConfigError("SMTP_URL has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ConfigError("SMTP_URL names no host, as in smtp://mail.example.org:587")
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def classify(error: Exception) -> SmtpError:
    """The SmtpError subclass instance that says what to do about `error`."""
    if isinstance(error, SmtpError):
        return error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        code = min(codes) if codes else None
    elif isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
    else:
        code = None
    detail = f"{error.__class__.__name__}: {_reply_text(error)}"
    if code in THROTTLE_CODES:
        return ThrottledSmtpError(detail, code)
    if code is not None and 500 <= code < 600:
        return PermanentSmtpError(detail, code)
    return TransientSmtpError(detail, code)


def _reply_text(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # The refused addresses stay out of the message: it goes to logs.
        return "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        return f"{error.smtp_code} {text}"
    return str(error) or "connection failed"


@functools.cache
def _helo_name() -> str:
    # smtplib looks the FQDN up on every connection, which can take seconds without DNS.
    return socket.getfqdn()


def crlf(raw: bytes) -> bytes:
    """`raw` with every line ending made CRLF (smtplib sends bytes as they are)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


_LINE_END = re.compile(rb"\r\n|\n|\r")
# As smtplib: a reply line longer than this is an error, not something to buffer forever.
MAX_REPLY_LINE = 8192


def data_block(raw: bytes) -> bytes:
    """`raw` as the content of DATA: CRLF line endings, leading dots doubled, the final dot.

    A message already in CRLF (as the delivery engine builds them) costs three byte counts
    and one `bytes.replace`; any bare CR or LF is made CRLF first, as smtplib does.
    """
    pairs = raw.count(b"\r\n")
    if raw.count(b"\n") != pairs or raw.count(b"\r") != pairs:
        raw = _LINE_END.sub(b"\r\n", raw)
    raw = raw.replace(b"\r\n.", b"\r\n..")
    if raw.startswith(b"."):
        raw = b"." + raw
    if raw and not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return raw + b".\r\n"


class _Session:
    """Commands and replies written and read straight on an open connection's socket.

    Used after smtplib has connected, said EHLO and done STARTTLS and AUTH, when the relay has
    answered everything it was asked, so smtplib's own buffer is empty. Each command is one
    `sendall`; a reply, multi-line or not, is parsed from a buffer filled by `recv`.
    """

    __slots__ = ("smtp", "sock", "buffer")

    def __init__(self, smtp: smtplib.SMTP) -> None:
        if smtp.sock is None:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self.smtp = smtp
        self.sock: socket.socket = smtp.sock
        self.buffer = b""

    def command(self, data: bytes) -> tuple[int, bytes]:
        self.sock.sendall(data)
        return self.reply()

    def reply(self) -> tuple[int, bytes]:
        """(code, text) of the next reply, its lines joined by LF as smtplib does."""
        lines = []
        buffer = self.buffer
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > MAX_REPLY_LINE:
                    self.smtp.close()
                    raise smtplib.SMTPResponseException(500, "Line too long.")
                chunk = self.sock.recv(4096)
                if not chunk:
                    self.smtp.close()
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                buffer += chunk
                continue
            line, buffer = buffer[: end + 1], buffer[end + 1 :]
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                self.buffer = buffer
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                return code, b"\n".join(lines)

    def reset(self, code: int) -> None:
        """After a refusal, as smtplib.sendmail: RSET, or close when the relay said 421."""
        if code == 421:
            self.smtp.close()
            return
        try:
            self.command(b"RSET\r\n")
        except (smtplib.SMTPException, OSError):
            # The connection is gone; the next send opens a new one.
            self.smtp.close()


class SmtpTransport:
    """One SMTP connection, opened on first use and reused for many messages.

    Use as a context manager; every failure leaves as a PermanentSmtpError,
    ThrottledSmtpError or TransientSmtpError.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        # Verification stays on: the default context checks the certificate and host name
        # (SSL_CERT_FILE points it at a private CA). Made only for TLS: loading the CA store
        # is slow next to a plain connection to a local relay.
        if ssl_context is None and settings.security != "plain":
            ssl_context = ssl.create_default_context()
        self.ssl_context = ssl_context
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._session: _Session | None = None
        # Whether the relay offered SMTPUTF8 at EHLO on the open connection.
        self._smtputf8 = False

    def __enter__(self) -> SmtpTransport:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> _Session:
        """Connect, say EHLO, secure and log in, unless already connected; the open session."""
        if self._smtp is not None and self._session is not None:
            if self._smtp.sock is not None:
                return self._session
            # Closed after a failed RSET or a 421: start afresh.
            self._discard()
        try:
            self._smtp = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            raise _connection_error(error) from error
        self._session = _Session(self._smtp)
        self._smtputf8 = self._smtp.has_extn("smtputf8")
        return self._session

    def smtputf8_for(self, address: str) -> bool:
        """Whether mail to `address` goes with SMTPUTF8: it is international and the relay
        offers it (connecting first, to ask). Build the message's headers to match."""
        if address.isascii():
            return False
        self.open()
        return self._smtputf8

    def _envelope(self, address: str, smtputf8: bool) -> str:
        if smtputf8 and not self._smtputf8:
            # Built for a relay that offered SMTPUTF8; this connection's does not.
            raise InternationalAddressRefused()
        return wire_address(address, smtputf8)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, _helo_name(), timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, _helo_name(), timeout=self.timeout)
        try:
            if s.security == "starttls":
                smtp.starttls(context=self.ssl_context)
            if s.username is not None:
                smtp.login(s.username, s.password or "")
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(
        self, raw: bytes, mail_from: str, recipients: Iterable[str], smtputf8: bool = False
    ) -> dict:
        """Send one message; returns the recipients refused when others were accepted.

        Addresses are as stored: an international one goes in the form `wire_address` gives.
        """
        session = self.open()
        sender = self._envelope(mail_from, smtputf8)
        envelope = [self._envelope(recipient, smtputf8) for recipient in recipients]
        options = ["SMTPUTF8"] if smtputf8 else []
        try:
            return session.smtp.sendmail(sender, envelope, crlf(raw), mail_options=options)
        except (smtplib.SMTPException, OSError) as error:
            raise self._sorted(error) from error

    def send_one(self, raw: bytes, mail_from: str, recipient: str, smtputf8: bool = False) -> None:
        """Send one message to one address: the bulk path, `send` without smtplib.

        smtplib spends more CPU than the rest of a bulk send: it parses both addresses, formats
        each command, reads replies a line at a time through a file object and rewrites line
        endings and leading dots with regular expressions. Here each command is one `sendall`,
        replies are parsed from a small buffer, and the message goes with its dots doubled by
        one `bytes.replace`. Failures raise the exceptions smtplib would, so they are sorted
        the same way.
        """
        session = self.open()
        # Without SMTPUTF8 both are ASCII (or refused here, before anything is sent).
        sender = b"MAIL FROM:<" + self._envelope(mail_from, smtputf8).encode() + b">"
        sender += b" SMTPUTF8\r\n" if smtputf8 else b"\r\n"
        rcpt = b"RCPT TO:<" + self._envelope(recipient, smtputf8).encode() + b">\r\n"
        try:
            code, reply = session.command(sender)
            if code != 250:
                session.reset(code)
                raise smtplib.SMTPSenderRefused(code, reply, mail_from)
            code, reply = session.command(rcpt)
            if code not in (250, 251):
                session.reset(code)
                raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            code, reply = session.command(b"DATA\r\n")
            if code != 354:
                session.reset(code)
                raise smtplib.SMTPDataError(code, reply)
            code, reply = session.command(data_block(raw))
            if code != 250:
                session.reset(code)
                raise smtplib.SMTPDataError(code, reply)
        except (smtplib.SMTPException, OSError) as error:
            raise self._sorted(error) from error

    def _sorted(self, error: Exception) -> SmtpError:
        sorted_error = classify(error)
        if not _connection_survives(error, sorted_error):
            # The next send opens a new connection rather than failing on a dead one.
            self._discard()
        return sorted_error

    def close(self) -> None:
        """Say QUIT and close; errors on the way out no longer matter."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._discard()

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
            self._session = None
            self._smtputf8 = False


def _connection_survives(error: Exception, sorted_error: SmtpError) -> bool:
    # smtplib resets the session after a refused sender, recipient or message; a 421 reply or
    # a socket error means the relay is closing the connection.
    answered = isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)
    return answered and sorted_error.code != 421


def _connection_error(error: Exception) -> SmtpError:
    # A relay that refuses the connection or our login has judged nothing about the message,
    # so the message stays retryable; only a throttling reply is told apart.
    sorted_error = classify(error)
    if isinstance(sorted_error, ThrottledSmtpError):
        return sorted_error
    return TransientSmtpError(
        f"cannot connect to the SMTP relay: {sorted_error}", sorted_error.code
    )
