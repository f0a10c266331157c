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


def open_sessions(server, count: int) -> list[smtplib.SMTP]:
    """`count` sessions that got the greeting (one just closed may still hold a place)."""
    sessions: list[smtplib.SMTP] = []
    deadline = time.monotonic() + 30
    while len(sessions) < count:
        try:
            sessions.append(smtplib.SMTP(server.host, server.port, timeout=10))
        except smtplib.SMTPConnectError as error:
            assert error.smtp_code == 421
            assert time.monotonic() < deadline, "sessions never closed"
            time.sleep(0.05)
    return sessions


def test_sessions_beyond_the_cap_get_421_until_one_ends(app, delivery):
    """BOUNCE_MAX_SESSIONS=2: a third session is refused with 421 before its greeting; once
    one of the two ends, a new one is served."""
    app.config["BOUNCE_MAX_SESSIONS"] = 2
    server = BounceServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        first, second = open_sessions(server, 2)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP(server.host, server.port, timeout=10)
        assert refused.value.smtp_code == 421
        first.quit()
        (third,) = open_sessions(server, 1)
        third.sendmail("", [return_path(delivery.id)], render("postfix_hard.eml", delivery))
        third.quit()
        second.quit()
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
