"""Addresses and headers on the wire, and the transport's SMTPUTF8, over real sockets."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from newsletter.mail.addresses import (
    address_header,
    encoded_words,
    recipient_header,
    text_header,
    wire_address,
)
from newsletter.mail.transport import (
    InternationalAddressRefused,
    SmtpSettings,
    SmtpTransport,
    crlf,
)
from tests.support.servers import free_port
from tests.support.smtp import SmtpSink

MESSAGE = crlf(b"From: a@example.org\nTo: b@example.org\nSubject: Hello\n\nLine one\n")


@pytest.fixture(params=[True, False], ids=["smtputf8", "ascii"])
def offered(request) -> bool:
    """Whether the relay offers SMTPUTF8."""
    return request.param


@pytest.fixture
def sink(offered):
    """A real relay that offers SMTPUTF8, or one that does not."""
    sink = SmtpSink(port=free_port(), smtputf8=offered)
    sink.start()
    yield sink
    sink.stop()


def transport(sink) -> SmtpTransport:
    return SmtpTransport(SmtpSettings(host="127.0.0.1", port=sink.port))


def parsed_header(line: bytes):
    text = line.decode("utf-8") + "\r\n"
    return email.message_from_string(text, policy=policy.default)


def test_wire_address_keeps_ascii_and_converts_idn_domains():
    """ASCII stays; an IDN domain becomes its A-label (IDNA 2008: ß is kept, not made ss)."""
    assert wire_address("a@example.org", False) == "a@example.org"
    assert wire_address("anna@bücher.example", False) == "anna@xn--bcher-kva.example"
    assert wire_address("x@faß.de", False) == "x@xn--fa-hia.de"
    assert wire_address("zoë@hackney.gov.uk", True) == "zoë@hackney.gov.uk"
    with pytest.raises(InternationalAddressRefused, match="does not accept international"):
        wire_address("zoë@hackney.gov.uk", False)


def test_every_encoded_word_is_at_most_75_characters():
    """RFC 2047's limit holds for any text, however long or wide its characters."""
    for text in ("ë" * 300, "😀" * 100, "山田 太郎 " * 40, "a" + "ë" * 44):
        words = encoded_words(text).split("\r\n ")
        assert all(len(word) <= 75 for word in words)
        header = email.message_from_string(
            f"Subject: {encoded_words(text)}\r\n\r\n", policy=policy.default
        )
        assert header["Subject"] == text


def test_control_characters_never_reach_a_header():
    """CR, LF, NUL and Unicode line separators in a name or subject become spaces."""
    for raw in ("a\r\nBcc: x@y.z", "a\x00b", "a\u2028b", "a\x85b", "a\tb"):
        for line in (recipient_header(raw, "p@example.com"), text_header("Subject", raw)):
            assert line.count(b"\r\n") == line.count(b"\r\n ") + 1
            assert not re.search(rb"[\x00-\x08\x0a-\x1f]", line.replace(b"\r\n", b""))


def test_a_utf8_header_with_smtputf8_reads_back():
    """With SMTPUTF8 the name and the address are raw UTF-8 and parse back as written."""
    line = address_header("To", 'Zoë "Z", Ahmed', "zoë@hackney.gov.uk", smtputf8=True)
    assert "Zoë".encode() in line
    [address] = parsed_header(line)["To"].addresses
    assert (address.display_name, address.addr_spec) == ('Zoë "Z", Ahmed', "zoë@hackney.gov.uk")


def test_send_one_uses_smtputf8_only_where_offered(sink, offered):
    """An international address goes with SMTPUTF8 to a relay that offers it, else refused."""
    with transport(sink) as relay:
        assert relay.smtputf8_for("plain@example.org") is False
        smtputf8 = relay.smtputf8_for("zoë@hackney.gov.uk")
        assert smtputf8 is offered
        if offered:
            relay.send_one(MESSAGE, "bounces@example.org", "zoë@hackney.gov.uk", smtputf8)
        else:
            with pytest.raises(InternationalAddressRefused):
                relay.send_one(MESSAGE, "bounces@example.org", "zoë@hackney.gov.uk", smtputf8)
        relay.send_one(MESSAGE, "bounces@example.org", "anna@bücher.example", smtputf8)
    received = [(m.rcpt_tos, m.mail_options) for m in sink.messages]
    if offered:
        assert received == [
            (["zoë@hackney.gov.uk"], ["SMTPUTF8"]),
            (["anna@bücher.example"], ["SMTPUTF8"]),
        ]
    else:
        assert received == [(["anna@xn--bcher-kva.example"], [])]


def test_send_through_smtplib_uses_smtputf8_too(sink, offered):
    """System mail's path, through smtplib: the same rule, and an IDN sender in ASCII."""
    with transport(sink) as relay:
        if offered:
            relay.send(MESSAGE, "noreply@example.org", ["josé@example.org"], smtputf8=True)
        else:
            with pytest.raises(InternationalAddressRefused):
                relay.send(MESSAGE, "noreply@example.org", ["josé@example.org"])
        relay.send(MESSAGE, "noreply@bücher.example", ["plain@example.org"])
    assert sink.messages[-1].mail_from == "noreply@xn--bcher-kva.example"
    if offered:
        assert sink.messages[0].rcpt_tos == ["josé@example.org"]
        assert "SMTPUTF8" in sink.messages[0].mail_options


def test_a_message_built_for_smtputf8_is_refused_by_a_relay_without_it():
    """Reconnected to a relay that no longer offers SMTPUTF8: refused, nothing sent."""
    sink = SmtpSink(port=free_port(), smtputf8=False)
    sink.start()
    try:
        with transport(sink) as relay, pytest.raises(InternationalAddressRefused):
            relay.send_one(MESSAGE, "bounces@example.org", "zoë@hackney.gov.uk", True)
    finally:
        sink.stop()
    assert sink.messages == []
