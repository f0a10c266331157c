"""The built-in mail sink: an aiosmtpd server that stores every message in the outbox table."""

from __future__ import annotations

import logging
import socket
import threading
from email import policy
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from flask import Flask

from newsletter.extensions import db
from newsletter.models import OutboxMessage

logger = logging.getLogger(__name__)

SERVE_SINK_PORT = 8025

_lock = threading.Lock()
_current: MailSink | None = None


def decoded_subject(raw: bytes) -> str:
    """The message's Subject with RFC 2047 words decoded, cut to the column's 998 characters."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    try:
        subject = str(headers["Subject"] or "")
    except (ValueError, IndexError):
        # A malformed encoded word; keep what the sender wrote rather than lose the message.
        subject = str(headers.get_all("Subject", [""])[0])
    return subject[:998]


class _OutboxHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        # Runs on the sink's own event-loop thread; a blocking insert there holds up only
        # other mail to this development sink.
        try:
            store_message(self.sink.app, envelope.mail_from, envelope.rcpt_tos, envelope.content)
        except Exception:
            logger.exception("the mail sink could not store a message")
            return "451 Requested action aborted: local error in processing"
        return "250 Message accepted for delivery"


def store_message(app: Flask, mail_from: str, recipients: list[str], raw: bytes) -> int:
    """Save one received message as an OutboxMessage; returns its id."""
    with app.app_context():
        row = OutboxMessage(
            mail_from=(mail_from or "")[:320],
            recipients=", ".join(recipients),
            subject=decoded_subject(raw),
            raw=raw,
        )
        db.session.add(row)
        db.session.commit()
        logger.info("mail sink stored outbox message %s", row.id)
        return row.id


class ControlledServer:
    """An aiosmtpd Controller serving in its own thread (the sink and the bounce receiver)."""

    controller: Controller

    def start(self) -> None:
        try:
            self.controller.start()
        except BaseException:
            # The loop thread has ended; close the loop it leaves behind.
            self.controller.loop.close()
            raise

    def stop(self) -> None:
        self.controller.stop()


class MailSink(ControlledServer):
    """An aiosmtpd server on host:port whose messages go to the outbox table."""

    def __init__(self, app: Flask, host: str, port: int) -> None:
        self.app = _real_app(app)
        self.host = host
        self.port = port
        # SMTPUTF8 as a modern relay offers it, so international addresses arrive as stored.
        self.controller = Controller(
            _OutboxHandler(self), hostname=host, port=port, enable_SMTPUTF8=True
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _real_app(app: Flask) -> Flask:
    # The sink's thread has no app context, so it needs the app, not the current_app proxy.
    return app._get_current_object() if hasattr(app, "_get_current_object") else app


def _port_is_free(host: str, port: int) -> bool:
    # aiosmtpd only reports a taken port after its 5-second start-up timeout; asking first
    # is quicker. SO_REUSEADDR as asyncio sets it, so a port in TIME_WAIT counts as free.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_sink(app: Flask, host: str = "127.0.0.1", port: int = 0) -> MailSink:
    """Start a sink on host:port, or on a free port when `port` is 0."""
    if port:
        sink = MailSink(app, host, port)
        sink.start()
        return sink
    for _ in range(4):
        try:
            return start_sink(app, host, _free_port(host))
        except OSError:
            # Another process took the free port between our probe and the bind.
            continue
    return start_sink(app, host, _free_port(host))


def ensure_sink(app: Flask, port: int = 0) -> MailSink:
    """This process's sink, started on first use: on `port` if free (else a free port)."""
    global _current
    with _lock:
        if _current is not None:
            # One app per process in production; tests build a new app each time.
            _current.app = _real_app(app)
            return _current
        if port and not _port_is_free("127.0.0.1", port):
            logger.warning("port %s is in use; the mail sink uses a free port instead", port)
            port = 0
        _current = start_sink(app, port=port)
        return _current


def current_sink() -> MailSink | None:
    """The sink ensure_sink started in this process, if any."""
    return _current


def stop_sink() -> None:
    """Stop this process's sink, if one runs."""
    global _current
    with _lock:
        if _current is not None:
            _current.stop()
            _current = None
