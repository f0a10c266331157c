"""`newsletter bounces serve`: an aiosmtpd server for the mail that comes back.

It accepts RCPT only for its own addresses on BOUNCE_DOMAIN: the VERP return paths
`bounces+TOKEN@` of newsletters, and BOUNCE_COMPLAINTS_ADDRESS, where feedback loops send abuse
reports. Anything else is refused with 550 at RCPT. Each message is read (`reports.py`), tied to
its delivery through the signed token, and handed to the policy (`policy.py`). A malformed,
unknown or forged report is logged, without the address or token, and dropped: the reply is
still 250, so the sending server does not retry it. Only a failure of ours (the database is
down) answers 451, so that the report comes again later.
"""

from __future__ import annotations

import asyncio
import logging
import re

import idna
from aiosmtpd.controller import Controller
from flask import Flask

from newsletter.bounces.policy import apply_report, unsubscribe_by_mail
from newsletter.bounces.reports import Report, read_report
from newsletter.mail.addresses import ascii_domain
from newsletter.mail.return_path import LOCAL_PREFIX, UNSUBSCRIBE_PREFIX, delivery_id_from
from newsletter.mail.sink import ControlledServer

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
# A report with its original attached is small; a bounce server has no use for big messages.
MAX_MESSAGE_SIZE = 10 * 1024 * 1024


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
        address = _ascii(address)
        local, _, domain = address.rpartition("@")
        if domain != self.domain:
            return False
        ours = local.startswith((LOCAL_PREFIX, UNSUBSCRIBE_PREFIX))
        return ours or address == self.complaints

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

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if not self.mailboxes.accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        # The database work runs in a thread, so one slow query holds up no other session.
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None, self.process, list(envelope.rcpt_tos), envelope.content
            )
        except Exception:
            logger.exception("the bounce receiver could not record a report")
            return "451 4.3.0 Local error, try again later"
        return "250 OK"

    def process(self, recipients: list[str], raw: bytes) -> None:
        """Read one message and apply it to each delivery it names."""
        with self.app.app_context():
            asking = [a for a in recipients if self.mailboxes.is_unsubscribe(a)]
            for address in asking:
                unsubscribe_by_mail(delivery_id_from(address, UNSUBSCRIBE_PREFIX))
            recipients = [a for a in recipients if a not in asking]
            if not recipients:
                return
            report = read_report(raw, self.mailboxes.return_path)
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


class BounceServer(ControlledServer):
    """The receiver on host:port, run by an aiosmtpd Controller in its own thread."""

    def __init__(self, app: Flask, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.app = app._get_current_object() if hasattr(app, "_get_current_object") else app
        self.host = host
        self.port = port
        self.controller = Controller(
            BounceHandler(self.app),
            hostname=host,
            port=port,
            server_hostname=self.app.config["BOUNCE_DOMAIN"],
            data_size_limit=MAX_MESSAGE_SIZE,
        )
