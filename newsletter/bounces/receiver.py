"""`newsletter bounces serve`: an aiosmtpd server for the mail that comes back.

It accepts RCPT only for its own addresses on BOUNCE_DOMAIN: the VERP return paths
`bounces+TOKEN@` of newsletters and the `unsubscribe+TOKEN@` mailtos, each only with a token
whose signature holds, and BOUNCE_COMPLAINTS_ADDRESS, where feedback loops send abuse reports.
Anything else (a forged or malformed token too) is refused with 550 at RCPT, before a byte of
the message is read. Of a message only its first BOUNCE_MAX_MESSAGE_BYTES are kept: the report
(the DSN or ARF part) comes first, and a long original returned after it is cut, not refused.
At most BOUNCE_MAX_SESSIONS sessions are open at once, and a quarter of them from one address;
one more is answered 421.

Each message is read (`reports.py`), tied to its delivery through the signed token, and handed
to the policy (`policy.py`). A malformed or unknown report is logged, without the address or
token, and dropped: the reply is still 250, so the sending server does not retry it. Only a
failure of ours (the database is down) answers 451, so that the report comes again later.
"""

from __future__ import annotations

import asyncio
import logging
import re

import idna
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax
from flask import Flask

from newsletter.bounces.policy import apply_report, unsubscribe_by_mail
from newsletter.bounces.reports import Report, read_report
from newsletter.mail.addresses import ascii_domain
from newsletter.mail.return_path import LOCAL_PREFIX, UNSUBSCRIBE_PREFIX, delivery_id_from
from newsletter.mail.sink import ControlledServer
from newsletter.settings import refresh

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
# The greeting names no software or version (aiosmtpd's default names both).
IDENT = "ESMTP"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"
TOO_MANY_SESSIONS = "421 4.3.2 Too many connections, try again later"


class Mailboxes:
    """Which addresses on BOUNCE_DOMAIN are ours."""

    def __init__(self, app: Flask) -> None:
        # As return paths are written (mail/return_path.py): an IDN domain in ASCII.
        self.domain = ascii_domain(app.config["BOUNCE_DOMAIN"]).lower()
        self.complaints = _ascii(app.config["BOUNCE_COMPLAINTS_ADDRESS"])
        self.return_path = re.compile(
            rf"{re.escape(LOCAL_PREFIX)}[a-z2-7]{{10,64}}@{re.escape(self.domain)}", re.IGNORECASE
        )

    def accepts(self, address: str) -> bool:
        """Whether RCPT may name `address`: the complaints address, or a return path or mailto
        whose token is signed by us (checked in the app context, for SECRET_KEY)."""
        address = _ascii(address)
        local, _, domain = address.rpartition("@")
        if domain != self.domain:
            return False
        if address == self.complaints:
            return True
        for prefix in (LOCAL_PREFIX, UNSUBSCRIBE_PREFIX):
            if local.startswith(prefix):
                return delivery_id_from(address, prefix) is not None
        return False

    def is_unsubscribe(self, address: str) -> bool:
        return address.lower().startswith(UNSUBSCRIBE_PREFIX)

    def is_complaints(self, address: str) -> bool:
        return _ascii(address) == self.complaints


def _ascii(address: str) -> str:
    """The address lowercased, its domain in ASCII: a sender may write an IDN either way."""
    local, at, domain = address.lower().rpartition("@")
    try:
        return f"{local}{at}{ascii_domain(domain)}"
    except idna.IDNAError:
        return address.lower()  # not a domain at all: it matches nothing of ours


class BounceHandler:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mailboxes = Mailboxes(app)

    def _current_mailboxes(self) -> Mailboxes:
        """The mailboxes for BOUNCE_DOMAIN as the settings have it now: a From address saved
        on /admin/settings moves the domain (newsletter.settings, looked at every few seconds)."""
        refresh(self.app)
        domain = ascii_domain(self.app.config["BOUNCE_DOMAIN"]).lower()
        complaints = _ascii(self.app.config["BOUNCE_COMPLAINTS_ADDRESS"])
        if (domain, complaints) != (self.mailboxes.domain, self.mailboxes.complaints):
            self.mailboxes = Mailboxes(self.app)
        return self.mailboxes

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        # One HMAC (and, every few seconds, a look at the settings row): a forged token costs
        # the sender its RCPT, and us nothing.
        with self.app.app_context():
            accepted = self._current_mailboxes().accepts(address)
        if not accepted:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        # The database work runs in a thread, so one slow query holds up no other session.
        loop = asyncio.get_running_loop()
        cut = getattr(envelope, "cut", False)
        try:
            await loop.run_in_executor(
                None, self.process, list(envelope.rcpt_tos), envelope.content, cut
            )
        except Exception:
            logger.exception("the bounce receiver could not record a report")
            return "451 4.3.0 Local error, try again later"
        return "250 OK"

    def process(self, recipients: list[str], raw: bytes, cut: bool = False) -> None:
        """Read one message and apply it to each delivery it names.

        `cut` says the message was longer than BOUNCE_MAX_MESSAGE_BYTES and `raw` is its start.
        """
        with self.app.app_context():
            asking = [a for a in recipients if self.mailboxes.is_unsubscribe(a)]
            for address in asking:
                unsubscribe_by_mail(delivery_id_from(address, UNSUBSCRIBE_PREFIX))
            recipients = [a for a in recipients if a not in asking]
            if not recipients:
                return
            report = read_report(raw, self.mailboxes.return_path)
            if report.kind is None and cut:
                logger.warning(
                    "dropped a message cut to its first %s bytes: no report within them (%s)",
                    len(raw),
                    report.why,
                )
                return
            if report.kind is None:
                logger.info("dropped a message that is no bounce to act on: %s", report.why)
                return
            for delivery_id in self._deliveries(recipients, report):
                apply_report(delivery_id, report)

    def _deliveries(self, recipients: list[str], report: Report) -> list[int]:
        candidates: list[str] = []
        for address in recipients:
            if self.mailboxes.is_complaints(address):
                candidates += report.return_paths
            else:
                candidates.append(address)
        ids = []
        for address in dict.fromkeys(candidates):
            delivery_id = delivery_id_from(address)
            if delivery_id is None:
                # Never log the address: a forged token tells an attacker what we check.
                logger.warning("dropped a %s report: no valid signed return path", report.kind)
            else:
                ids.append(delivery_id)
        if not candidates:
            logger.warning("dropped a %s report that names no return path of ours", report.kind)
        return ids


class CutEnvelope(Envelope):
    """An envelope that also says whether its content is only the start of the message."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = False


class SessionCount:
    """Sessions open on one receiver, in all and per peer address; only its event loop's
    thread touches it. One peer may hold a quarter of the sessions (at least one), so that a
    single host holding idle connections cannot keep every relay's bounces out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.per_peer = max(1, limit // 4)
        self.open = 0
        self.by_peer: dict[str, int] = {}

    def refusal(self, peer: str) -> str | None:
        """Why a new session from `peer` is refused, or None when it may open."""
        if self.open >= self.limit:
            return f"{self.open} sessions already open"
        if self.by_peer.get(peer, 0) >= self.per_peer:
            return f"{self.per_peer} sessions already open from one address"
        return None

    def opened(self, peer: str) -> None:
        self.open += 1
        self.by_peer[peer] = self.by_peer.get(peer, 0) + 1

    def closed(self, peer: str) -> None:
        self.open -= 1
        left = self.by_peer.pop(peer, 1) - 1
        if left:
            self.by_peer[peer] = left


class BounceSMTP(SMTP):
    """aiosmtpd's SMTP session with the receiver's two limits.

    aiosmtpd's own `data_size_limit` refuses a longer message whole (552, and SIZE in EHLO
    makes senders give up before DATA), and its DATA keeps every line in memory until the
    end. A bounce that returns a 10 MB original must still count, so no SIZE is offered and
    DATA here keeps the first `keep_bytes` (whole lines, dot-unstuffed) and reads the rest
    without keeping it. A line longer than SMTP allows ends what is kept instead of failing
    the message. A session beyond `sessions.limit` gets 421 in place of the greeting.
    """

    def __init__(self, handler, *, sessions: SessionCount, keep_bytes: int, **kwargs) -> None:
        super().__init__(handler, data_size_limit=None, **kwargs)
        self.sessions = sessions
        self.keep_bytes = keep_bytes

    def _create_envelope(self) -> CutEnvelope:
        return CutEnvelope()

    async def _handle_client(self) -> None:
        peername = self.session.peer if self.session is not None else None
        peer = str(peername[0]) if isinstance(peername, tuple) and peername else "unknown"
        refusal = self.sessions.refusal(peer)
        if refusal is not None:
            logger.warning("refused an SMTP session: %s", refusal)
            await self.push(TOO_MANY_SESSIONS)
            assert self.transport is not None
            self.transport.close()
            return
        self.sessions.opened(peer)
        try:
            await super()._handle_client()
        finally:
            self.sessions.closed(peer)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        kept = await self._read_data()
        if kept is None:
            return  # the connection was lost mid-message
        envelope = self.envelope
        assert isinstance(envelope, CutEnvelope)
        envelope.content = envelope.original_content = bytes(kept.data)
        envelope.cut = kept.cut
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> KeptData | None:
        """Read DATA up to its lone dot, keeping at most `keep_bytes`; None if cut off."""
        kept = KeptData(self.keep_bytes)
        in_long_line = False
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as error:
                # Longer than SMTP's line limit: drop it, and keep nothing after it.
                await self._reader.read(error.consumed)
                in_long_line = True
                kept.cut = True
                continue
            if in_long_line:
                in_long_line = False  # the end of that long line
                continue
            if line == b".\r\n":
                return kept
            kept.add(line)
        return None


class KeptData:
    """The start of a message as DATA reads it: whole lines, until one would pass `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.cut = False

    def add(self, line: bytes) -> None:
        if self.cut:
            return
        if line.startswith(b"."):
            line = line[1:]  # RFC 5321 4.5.2: undo the sender's dot-stuffing
        if len(self.data) + len(line) > self.limit:
            self.cut = True
            return
        self.data += line


class BounceController(Controller):
    """aiosmtpd's threaded Controller, making BounceSMTP sessions that share one count."""

    def __init__(self, handler: BounceHandler, *, keep_bytes: int, sessions: int, **kwargs):
        super().__init__(handler, **kwargs)
        self.keep_bytes = keep_bytes
        self.sessions = SessionCount(sessions)

    def factory(self) -> BounceSMTP:
        return BounceSMTP(
            self.handler, sessions=self.sessions, keep_bytes=self.keep_bytes, **self.SMTP_kwargs
        )


class BounceServer(ControlledServer):
    """The receiver on host:port, run by an aiosmtpd Controller in its own thread."""

    def __init__(self, app: Flask, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.app = app._get_current_object() if hasattr(app, "_get_current_object") else app
        self.host = host
        self.port = port
        config = self.app.config
        self.controller = BounceController(
            BounceHandler(self.app),
            keep_bytes=int(config["BOUNCE_MAX_MESSAGE_BYTES"]),
            sessions=int(config["BOUNCE_MAX_SESSIONS"]),
            hostname=host,
            port=port,
            server_hostname=config["BOUNCE_DOMAIN"],
            ident=IDENT,
        )
