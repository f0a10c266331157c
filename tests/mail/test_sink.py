"""The built-in mail sink: a real aiosmtpd server that writes what it receives to the outbox."""

from __future__ import annotations

import logging
import socket
from email.message import EmailMessage

from sqlalchemy import select

from newsletter.extensions import db
from newsletter.mail import SMTP_POLICY
from newsletter.mail.sink import current_sink, ensure_sink, start_sink, stop_sink
from newsletter.mail.transport import SmtpSettings, SmtpTransport
from newsletter.models import OutboxMessage


def sample_message(subject: str = "Café news — issue 1") -> bytes:
    message = EmailMessage()
    message["From"] = "Newsletter <noreply@example.org>"
    message["To"] = "reader@example.com"
    message["Subject"] = subject
    message.set_content("Hello reader.")
    return message.as_bytes(policy=SMTP_POLICY)


def send_to(sink, raw: bytes, recipients=("reader@example.com",)) -> None:
    with SmtpTransport(SmtpSettings(sink.host, sink.port)) as transport:
        transport.send(raw, "bounces@example.org", list(recipients))


def test_sink_stores_each_message_in_the_outbox(app):
    """Envelope, decoded subject and the raw bytes are kept as one OutboxMessage row."""
    sink = start_sink(app)
    try:
        send_to(sink, sample_message(), ["reader@example.com", "other@example.com"])
    finally:
        sink.stop()
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.mail_from == "bounces@example.org"
    assert row.recipients == "reader@example.com, other@example.com"
    assert row.subject == "Café news — issue 1"
    assert b"Subject: =?utf-8?" in row.raw
    assert row.raw.endswith(b"Hello reader.\r\n")


def test_ensure_sink_is_one_per_process(app):
    """A second call returns the running sink instead of starting another."""
    try:
        first = ensure_sink(app)
        assert ensure_sink(app) is first
        assert current_sink() is first
    finally:
        stop_sink()
    assert current_sink() is None


def test_ensure_sink_uses_the_requested_port_when_free(app):
    """serve asks for its well-known port and gets it when nothing else holds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        assert ensure_sink(app, port=port).port == port
    finally:
        stop_sink()


def test_ensure_sink_falls_back_to_a_free_port(app, caplog):
    """When the requested port is taken the sink warns and listens elsewhere."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            with caplog.at_level(logging.WARNING, logger="newsletter.mail.sink"):
                sink = ensure_sink(app, port=port)
            assert sink.port != port
            send_to(sink, sample_message("Fallback"))
        finally:
            stop_sink()
    assert f"port {port} is in use" in caplog.text
    assert db.session.scalars(select(OutboxMessage.subject)).all() == ["Fallback"]


def test_stopped_sink_refuses_connections(app):
    """After stop the port is closed."""
    sink = start_sink(app)
    sink.stop()
    with socket.socket() as client:
        assert client.connect_ex(("127.0.0.1", sink.port)) != 0
