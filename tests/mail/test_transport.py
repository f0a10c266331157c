"""The SMTP transport over real sockets: SMTP_URL parsing, TLS, AUTH, reuse and error sorting."""

from __future__ import annotations

import smtplib
import socket

import pytest
import trustme

from newsletter.errors import ConfigError
from newsletter.mail.relay import transport_for
from newsletter.mail.transport import (
    PermanentSmtpError,
    SmtpSettings,
    SmtpTransport,
    ThrottledSmtpError,
    TransientSmtpError,
    crlf,
    data_block,
    parse_smtp_url,
)
from tests.support.servers import free_port
from tests.support.smtp_servers import (
    PasswordChecker,
    RecordingHandler,
    client_tls_context,
    server_tls_context,
    start_server,
)

MESSAGE = b"From: a@example.org\nTo: b@example.org\nSubject: Hello\n\nLine one\nLine two\n"


@pytest.fixture
def handler():
    return RecordingHandler()


@pytest.fixture
def plain_server(handler):
    controller = start_server(handler)
    yield controller
    controller.stop()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def plain(controller) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=controller.port)


def test_parse_plain_url_with_default_port():
    """smtp:// means no TLS, port 25 unless given."""
    assert parse_smtp_url("smtp://relay.example.org") == SmtpSettings("relay.example.org", 25)


def test_parse_starttls_and_implicit_tls_urls():
    """smtp+starttls:// defaults to 587 and smtps:// (implicit TLS) to 465."""
    assert parse_smtp_url("smtp+starttls://relay.example.org").port == 587
    assert parse_smtp_url("smtp+starttls://relay.example.org").security == "starttls"
    assert parse_smtp_url("smtps://relay.example.org:2465").port == 2465
    assert parse_smtp_url("smtps://relay.example.org").security == "tls"


def test_parse_url_decodes_user_and_password():
    """Percent-encoded credentials come back as typed."""
    settings = parse_smtp_url("smtp://news%40example.org:p%40ss%3Aw%2Frd@relay:2525")
    assert (settings.username, settings.password) == ("news@example.org", "p@ss:w/rd")
    assert "p@ss" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@relay:25",
        "smtp://user:hunter2@relay:notaport",
        "smtp://user:hunter2@:25",
        "smtp://user:hunter2@relay:99999",
    ],
)
def test_bad_url_is_a_clear_config_error_without_the_password(url):
    """A malformed SMTP_URL raises ConfigError naming SMTP_URL, never the password."""
    with pytest.raises(ConfigError) as raised:
        parse_smtp_url(url)
    assert "SMTP_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_crlf_makes_every_line_ending_crlf():
    """Bare LF becomes CRLF; existing CRLF stays single."""
    assert crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


def test_many_messages_share_one_connection(plain_server, handler):
    """Three sends over one transport arrive from the same client socket."""
    with SmtpTransport(plain(plain_server)) as transport:
        for n in range(3):
            transport.send(MESSAGE, "a@example.org", [f"person{n}@example.org"])
    assert len(handler.messages) == 3
    assert len({message.peer for message in handler.messages}) == 1
    assert handler.messages[2].rcpt_tos == ["person2@example.org"]


def test_bare_lf_message_arrives_with_crlf(plain_server, handler):
    """A message written with LF line endings is sent with CRLF, as SMTP needs."""
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send(MESSAGE, "a@example.org", ["b@example.org"])
    assert b"Line one\r\nLine two" in handler.messages[0].content


def test_login_with_url_decoded_credentials(handler):
    """AUTH uses the user and password from the URL, percent-decoding applied."""
    checker = PasswordChecker("news@example.org", "p@ss:w/rd")
    controller = start_server(handler, authenticator=checker, auth_require_tls=False)
    try:
        url = f"smtp://news%40example.org:p%40ss%3Aw%2Frd@127.0.0.1:{controller.port}"
        with SmtpTransport(parse_smtp_url(url)) as transport:
            transport.send(MESSAGE, "a@example.org", ["b@example.org"])
    finally:
        controller.stop()
    assert checker.attempts == [(b"news@example.org", b"p@ss:w/rd")]
    assert len(handler.messages) == 1


def test_wrong_password_is_transient_and_not_shown(handler):
    """A refused login keeps the mail retryable, and the error never repeats the password."""
    checker = PasswordChecker("news", "right-password")
    controller = start_server(handler, authenticator=checker, auth_require_tls=False)
    try:
        settings = parse_smtp_url(f"smtp://news:wrong-password@127.0.0.1:{controller.port}")
        with pytest.raises(TransientSmtpError) as raised:
            SmtpTransport(settings).open()
    finally:
        controller.stop()
    assert raised.value.code == 535
    assert "wrong-password" not in str(raised.value)


def test_starttls_with_a_trusted_certificate(handler, ca):
    """smtp+starttls:// upgrades the connection and verifies the relay's certificate."""
    controller = start_server(handler, tls_context=server_tls_context(ca), require_starttls=True)
    try:
        settings = parse_smtp_url(f"smtp+starttls://127.0.0.1:{controller.port}")
        with SmtpTransport(settings, ssl_context=client_tls_context(ca)) as transport:
            transport.send(MESSAGE, "a@example.org", ["b@example.org"])
    finally:
        controller.stop()
    assert len(handler.messages) == 1


def test_starttls_refuses_an_untrusted_certificate(handler, ca):
    """Verification is on by default: a certificate from an unknown CA stops the connection."""
    controller = start_server(handler, tls_context=server_tls_context(ca), require_starttls=True)
    try:
        settings = parse_smtp_url(f"smtp+starttls://127.0.0.1:{controller.port}")
        with pytest.raises(TransientSmtpError, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpTransport(settings).open()
    finally:
        controller.stop()
    assert handler.messages == []


def test_implicit_tls(handler, ca):
    """smtps:// speaks TLS from the first byte."""
    controller = start_server(handler, ssl_context=server_tls_context(ca))
    try:
        settings = parse_smtp_url(f"smtps://127.0.0.1:{controller.port}")
        with SmtpTransport(settings, ssl_context=client_tls_context(ca)) as transport:
            transport.send(MESSAGE, "a@example.org", ["b@example.org"])
    finally:
        controller.stop()
    assert len(handler.messages) == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (550, PermanentSmtpError),
        (553, PermanentSmtpError),
        (421, ThrottledSmtpError),
        (450, ThrottledSmtpError),
        (451, ThrottledSmtpError),
        (452, ThrottledSmtpError),
        (454, TransientSmtpError),
    ],
)
def test_refusals_are_sorted_by_reply_code(plain_server, code, error_class):
    """5xx is permanent, 421/450/451/452 throttled, other 4xx transient."""
    with SmtpTransport(plain(plain_server)) as transport, pytest.raises(error_class) as raised:
        transport.send(MESSAGE, "a@example.org", [f"reply-{code}@example.org"])
    assert raised.value.code == code
    assert f"reply-{code}@" not in str(raised.value)


def test_connection_survives_a_refused_recipient(plain_server, handler):
    """After a permanent refusal the next message goes over the same connection."""
    with SmtpTransport(plain(plain_server)) as transport:
        with pytest.raises(PermanentSmtpError):
            transport.send(MESSAGE, "a@example.org", ["reply-550@example.org"])
        transport.send(MESSAGE, "a@example.org", ["ok@example.org"])
        transport.send(MESSAGE, "a@example.org", ["ok2@example.org"])
    assert len({message.peer for message in handler.messages}) == 1


def test_partial_refusal_returns_the_refused_recipients(plain_server, handler):
    """When some recipients are accepted the message goes and the refused ones are returned."""
    with SmtpTransport(plain(plain_server)) as transport:
        refused = transport.send(
            MESSAGE, "a@example.org", ["ok@example.org", "reply-550@example.org"]
        )
    assert list(refused) == ["reply-550@example.org"]
    assert handler.messages[0].rcpt_tos == ["ok@example.org"]


def test_nothing_listening_is_transient():
    """A refused TCP connection is a transient error."""
    with pytest.raises(TransientSmtpError):
        SmtpTransport(SmtpSettings("127.0.0.1", free_port()), timeout=2).open()


def test_dropped_connection_reconnects_on_next_send(plain_server, handler):
    """After the relay drops the connection, the next send opens a new one."""
    transport = SmtpTransport(plain(plain_server))
    with transport:
        transport.send(MESSAGE, "a@example.org", ["one@example.org"])
        transport._smtp.sock.shutdown(socket.SHUT_RDWR)
        with pytest.raises(TransientSmtpError):
            transport.send(MESSAGE, "a@example.org", ["lost@example.org"])
        transport.send(MESSAGE, "a@example.org", ["two@example.org"])
    assert [m.rcpt_tos for m in handler.messages] == [["one@example.org"], ["two@example.org"]]
    assert handler.messages[0].peer != handler.messages[1].peer


def test_transport_for_uses_smtp_url(app, plain_server, handler):
    """With SMTP_URL set, mail goes to that relay."""
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{plain_server.port}"
    with transport_for(app) as transport:
        transport.send(MESSAGE, "a@example.org", ["b@example.org"])
    assert len(handler.messages) == 1


def test_transport_for_without_smtp_url_uses_the_sink(app, outbox_sink):
    """With SMTP_URL unset, mail goes to this process's built-in sink."""
    transport = transport_for(app)
    assert (transport.settings.host, transport.settings.port) == ("127.0.0.1", outbox_sink.port)
    assert transport.settings.security == "plain"


def test_smtplib_errors_are_not_leaked_raw(plain_server):
    """Callers only ever see the three SmtpError classes."""
    with SmtpTransport(plain(plain_server)) as transport:
        try:
            transport.send(MESSAGE, "a@example.org", ["reply-550@example.org"])
        except smtplib.SMTPException:  # pragma: no cover - the failure this test guards against
            pytest.fail("a raw smtplib exception escaped the transport")
        except PermanentSmtpError:
            pass


def test_send_one_delivers_over_the_same_connection(plain_server, handler):
    """send_one (the bulk path) sends CRLF bytes to one address, reusing the connection."""
    with SmtpTransport(plain(plain_server)) as transport:
        for n in range(3):
            transport.send_one(crlf(MESSAGE), "bounces+x@example.org", f"to{n}@example.org")
    assert [m.rcpt_tos for m in handler.messages] == [[f"to{n}@example.org"] for n in range(3)]
    assert {m.peer for m in handler.messages} == {handler.messages[0].peer}
    assert handler.messages[0].mail_from == "bounces+x@example.org"


def test_send_one_sorts_refusals_as_send_does(plain_server, handler):
    """5xx at RCPT is permanent, 452 throttled, other 4xx transient; the connection goes on."""
    with SmtpTransport(plain(plain_server)) as transport:
        with pytest.raises(PermanentSmtpError) as refused:
            transport.send_one(crlf(MESSAGE), "a@example.org", "reply-550@example.org")
        assert isinstance(refused.value.__cause__, smtplib.SMTPRecipientsRefused)
        with pytest.raises(ThrottledSmtpError):
            transport.send_one(crlf(MESSAGE), "a@example.org", "reply-452@example.org")
        with pytest.raises(TransientSmtpError):
            transport.send_one(crlf(MESSAGE), "a@example.org", "reply-454@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "fine@example.org")
    assert [m.rcpt_tos for m in handler.messages] == [["fine@example.org"]]


# --- the bulk path's own SMTP session (send_one) ---------------------------------------------


def test_send_one_reads_multi_line_replies(plain_server, handler):
    """Multi-line replies to RCPT and after DATA are read whole; the next message still goes."""
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send_one(crlf(MESSAGE), "a@example.org", "multi@example.org")
        with pytest.raises(PermanentSmtpError) as refused:
            transport.send_one(crlf(MESSAGE), "a@example.org", "reply-550@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "after@example.org")
    assert "scripted refusal" in str(refused.value)
    assert "second line" in str(refused.value)
    assert [m.rcpt_tos for m in handler.messages] == [["multi@example.org"], ["after@example.org"]]
    assert len({m.peer for m in handler.messages}) == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [(554, PermanentSmtpError), (451, ThrottledSmtpError), (454, TransientSmtpError)],
)
def test_send_one_sorts_refusals_after_data(plain_server, handler, code, error_class):
    """A message refused after DATA is sorted by its code; the connection carries on."""
    with SmtpTransport(plain(plain_server)) as transport:
        with pytest.raises(error_class) as refused:
            transport.send_one(crlf(MESSAGE), "a@example.org", f"data-{code}@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "next@example.org")
    assert refused.value.code == code
    assert f"data-{code}@" not in str(refused.value)
    assert [m.rcpt_tos for m in handler.messages] == [["next@example.org"]]


def test_send_one_refused_recipient_with_421_reconnects(plain_server, handler):
    """A 421 at RCPT means the relay is closing: throttled, and the next send reconnects."""
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send_one(crlf(MESSAGE), "a@example.org", "first@example.org")
        with pytest.raises(ThrottledSmtpError):
            transport.send_one(crlf(MESSAGE), "a@example.org", "reply-421@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "second@example.org")
    assert [m.rcpt_tos for m in handler.messages] == [["first@example.org"], ["second@example.org"]]
    assert handler.messages[0].peer != handler.messages[1].peer


def test_send_one_dropped_connection_is_transient_and_reconnects(plain_server, handler):
    """The relay hangs up after DATA without a reply: transient, and the next send reconnects."""
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send_one(crlf(MESSAGE), "a@example.org", "first@example.org")
        with pytest.raises(TransientSmtpError):
            transport.send_one(crlf(MESSAGE), "a@example.org", "drop@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "second@example.org")
    assert [m.rcpt_tos for m in handler.messages] == [["first@example.org"], ["second@example.org"]]
    assert handler.messages[0].peer != handler.messages[1].peer


def test_send_one_lines_starting_with_a_dot_arrive_intact(plain_server, handler):
    """Dots at the start of lines (and of the message) are doubled on the wire, undone there."""
    raw = b".first\r\nSubject: dots\r\n\r\n.\r\n..two\r\n.three\r\nend.\r\n"
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send_one(raw, "a@example.org", "dots@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "after@example.org")
    assert handler.messages[0].content == raw
    assert handler.messages[1].rcpt_tos == ["after@example.org"]


def test_send_one_message_without_final_line_break(plain_server, handler):
    """A message not ending in CRLF is ended properly; bare LF becomes CRLF."""
    with SmtpTransport(plain(plain_server)) as transport:
        transport.send_one(b"Subject: x\n\nline one\nlast line", "a@example.org", "a@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "after@example.org")
    assert handler.messages[0].content == b"Subject: x\r\n\r\nline one\r\nlast line\r\n"
    assert handler.messages[1].rcpt_tos == ["after@example.org"]


def test_send_one_non_ascii_address_is_refused_without_sending(plain_server, handler):
    """An address SMTP cannot carry without SMTPUTF8 fails permanently; the connection goes on."""
    with SmtpTransport(plain(plain_server)) as transport:
        with pytest.raises(PermanentSmtpError):
            transport.send_one(crlf(MESSAGE), "a@example.org", "jürgen@example.org")
        transport.send_one(crlf(MESSAGE), "a@example.org", "after@example.org")
    assert [m.rcpt_tos for m in handler.messages] == [["after@example.org"]]


def test_data_block_dot_stuffing_and_ending():
    """The DATA content: CRLF, leading dots doubled, one CRLF before the final dot."""
    assert data_block(b".a\r\nb\r\n.c") == b"..a\r\nb\r\n..c\r\n.\r\n"
    assert data_block(b"a\nb\rc\r\n") == b"a\r\nb\r\nc\r\n.\r\n"
    assert data_block(b"") == b".\r\n"
