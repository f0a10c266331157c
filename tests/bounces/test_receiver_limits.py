"""What the receiver refuses or cuts before reading: its session cap, and the size it keeps."""

from __future__ import annotations

import logging
import smtplib
import time

import aiosmtpd
import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.bounces.receiver import BounceServer
from newsletter.extensions import db
from newsletter.models import Bounce, SuppressionReason
from tests.bounces.conftest import render, return_path, send
from tests.support.servers import free_port

MB = 1024 * 1024
# The closing boundary of postfix_hard.eml: what follows the report parts.
LAST_PART = b"--4Tq2Wd0Xz9z9sRr.1795770842/mail.example.net--"
BOUNDARY = LAST_PART[:-2]


@pytest.fixture
def delivery(make, news, delivered_to):
    person = make.subscriber("jo@example.com", lists=[news])
    (row,) = delivered_to([person], [news])
    return row


def with_original(report: bytes, body: bytes) -> bytes:
    """A DSN that returns, after its report parts, an original message with this body."""
    original = (
        BOUNDARY + b"\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: Newsletter <newsletter@example.org>\r\nSubject: Spring news\r\n\r\n" + body
    )
    return report.replace(LAST_PART, original + b"\r\n" + LAST_PART)


def bounced() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Bounce))


def test_a_10_mb_bounce_with_its_report_first_is_cut_and_recorded(bounce_server, delivery):
    """Nothing tells the sender to stop at MAIL FROM (no SIZE), the whole message is taken,
    and the DSN at its front suppresses the address."""
    body = b"The spring issue, as sent, returned in full.\r\n" * (10 * MB // 46)
    raw = with_original(render("postfix_hard.eml", delivery), body)
    assert len(raw) > 10 * MB
    with smtplib.SMTP(bounce_server.host, bounce_server.port, timeout=60) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("size")
        assert smtp.sendmail("", [return_path(delivery.id)], raw) == {}
    assert bounced() == 1
    assert suppression.active_reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}


def test_an_over_long_line_in_the_returned_original_does_not_refuse_the_bounce(
    bounce_server, delivery
):
    """A 5000-character line (no relay should send one) ends what is kept, nothing more."""
    raw = with_original(render("postfix_hard.eml", delivery), b"<p>" + b"x" * 5000 + b"</p>\r\n")
    send(bounce_server, raw, return_path(delivery.id))
    assert bounced() == 1


def test_a_message_whose_report_is_past_the_cut_is_dropped_with_a_log_line(
    bounce_server, delivery, caplog
):
    """2 MB of notice before the DSN: accepted (the sender need not retry), nothing recorded,
    one line saying the message was cut, without the address or token."""
    report = render("postfix_hard.eml", delivery)
    head, _, rest = report.partition(b"\r\n\r\n")
    padding = b"Content-Type: text/plain\r\n\r\n" + b"Your message could not be sent.\r\n" * (
        2 * MB // 33
    )
    raw = head + b"\r\n\r\n" + rest.replace(BOUNDARY + b"\r\n", BOUNDARY + b"\r\n" + padding, 1)
    caplog.set_level(logging.INFO, logger="newsletter.bounces")
    send(bounce_server, raw, return_path(delivery.id))
    assert bounced() == 0
    assert "dropped a message cut to its first" in caplog.text
    assert return_path(delivery.id).split("@")[0][len("bounces+") :] not in caplog.text
    assert "jo@example.com" not in caplog.text


def test_the_kept_size_is_a_setting(app, delivery, caplog):
    """BOUNCE_MAX_MESSAGE_BYTES below the report's size cuts the report off too."""
    app.config["BOUNCE_MAX_MESSAGE_BYTES"] = 600
    server = BounceServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        caplog.set_level(logging.INFO, logger="newsletter.bounces")
        send(server, render("postfix_hard.eml", delivery), return_path(delivery.id))
    finally:
        server.stop()
    assert bounced() == 0
    assert "dropped a message cut to its first" in caplog.text


def connect(server, source: str) -> smtplib.SMTP:
    """A session from `source` (any 127.x.y.z address is this machine's loopback)."""
    return smtplib.SMTP(server.host, server.port, timeout=10, source_address=(source, 0))


def open_session(server, source: str) -> smtplib.SMTP:
    """A session that got the greeting (one just closed may still hold a place)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return connect(server, source)
        except smtplib.SMTPConnectError as error:
            assert error.smtp_code == 421
            assert time.monotonic() < deadline, "sessions never closed"
            time.sleep(0.05)


def test_sessions_beyond_the_cap_get_421_until_one_ends(app, delivery):
    """BOUNCE_MAX_SESSIONS=4, from four hosts: a fifth session is refused with 421 before its
    greeting; once one of the four ends, a new one is served."""
    app.config["BOUNCE_MAX_SESSIONS"] = 4
    server = BounceServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        first, *others = [open_session(server, f"127.0.0.{n}") for n in range(2, 6)]
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            connect(server, "127.0.0.6")
        assert refused.value.smtp_code == 421
        first.quit()
        fifth = open_session(server, "127.0.0.6")
        fifth.sendmail("", [return_path(delivery.id)], render("postfix_hard.eml", delivery))
        fifth.quit()
        for session in others:
            session.quit()
    finally:
        server.stop()
    assert bounced() == 1


def test_one_host_holds_at_most_a_quarter_of_the_sessions(app, delivery):
    """BOUNCE_MAX_SESSIONS=8: one address holding two idle sessions gets 421 for a third,
    while another host is still served, so one host cannot keep every relay's bounces out."""
    app.config["BOUNCE_MAX_SESSIONS"] = 8
    server = BounceServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        held = [open_session(server, "127.0.0.2") for _ in range(2)]
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            connect(server, "127.0.0.2")
        assert refused.value.smtp_code == 421
        relay = open_session(server, "127.0.0.3")
        relay.sendmail("", [return_path(delivery.id)], render("postfix_hard.eml", delivery))
        relay.quit()
        for session in held:
            session.quit()
    finally:
        server.stop()
    assert bounced() == 1


def test_the_greeting_names_no_software_version(bounce_server):
    """220 with the host name only: no "Python SMTP" and no aiosmtpd version."""
    smtp = smtplib.SMTP(timeout=10)
    code, greeting = smtp.connect(bounce_server.host, bounce_server.port)
    smtp.quit()
    assert code == 220
    assert b"Python" not in greeting
    assert aiosmtpd.__version__.encode() not in greeting


def test_a_report_with_control_characters_is_recorded_without_them(bounce_server, delivery):
    """A NUL and an escape in the Diagnostic-Code (PostgreSQL refuses NUL in text): the
    message is taken (250), the bounce recorded, and what is stored is printable."""
    raw = render("postfix_hard.eml", delivery).replace(
        b"Diagnostic-Code: smtp; 550 5.1.1", b"Diagnostic-Code: smtp; 550 5.1.1 \x00 \x1b[31m"
    )
    send(bounce_server, raw, return_path(delivery.id))
    assert bounced() == 1
    stored = db.session.scalar(sa.select(Bounce.diagnostic))
    assert stored.startswith("smtp; 550 5.1.1 [31m")
    assert all(ord(c) >= 32 for c in stored)
    assert suppression.active_reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}
