"""International addresses on the wire: SMTPUTF8 when the relay offers it, ASCII forms when not."""

import email
from email import policy

import pytest
import sqlalchemy as sa

from newsletter.delivery.reconfirmation import start_reconfirmation
from newsletter.extensions import db
from newsletter.mail.errors import InternationalAddressRefused
from newsletter.models import Delivery, IssueStatus
from tests.factories import finished_import, make_issue, send_here, start, statuses
from tests.support.servers import free_port
from tests.support.smtp import SmtpSink

REFUSED = str(InternationalAddressRefused())


def by_recipient(sink) -> dict:
    return {message.rcpt_tos[0]: message for message in sink.messages}


def test_smtputf8_relay_gets_the_address_as_stored(app, make, news, smtp_sink):
    """Envelope and To header carry the UTF-8 address, sent with the SMTPUTF8 parameter."""
    make.subscriber(email="zoë.ahmed@hackney.gov.uk", name="Zoë Ahmed", lists=[news])
    make.subscriber(email="anna@bücher.example", lists=[news])
    make.subscriber(email="plain@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    received = by_recipient(smtp_sink)
    assert set(received) == {"zoë.ahmed@hackney.gov.uk", "anna@bücher.example", "plain@example.com"}
    zoe = received["zoë.ahmed@hackney.gov.uk"]
    assert "SMTPUTF8" in zoe.mail_options
    assert "To: Zoë Ahmed <zoë.ahmed@hackney.gov.uk>".encode() in zoe.raw.replace(b'"', b"")
    assert zoe["To"].addresses[0].display_name == "Zoë Ahmed"
    # Plain mail is plain: no SMTPUTF8 where nothing needs it.
    assert received["plain@example.com"].mail_options == []
    assert set(statuses(issue).values()) == {"sent"}


def test_without_smtputf8_an_idn_domain_goes_in_ascii(app, make, news, ascii_sink):
    """anna@bücher.example is mailed as anna@xn--bcher-kva.example, envelope and header."""
    make.subscriber(email="anna@bücher.example", name="Anna", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    [message] = ascii_sink.messages
    assert message.rcpt_tos == ["anna@xn--bcher-kva.example"]
    assert message["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"
    assert message.raw.isascii()


def test_without_smtputf8_only_the_non_ascii_local_part_fails(app, make, news, ascii_sink):
    """zoë@… is failed with a reason an admin can read; everyone else is mailed."""
    make.subscriber(email="before@example.com", lists=[news])
    make.subscriber(email="zoë.ahmed@hackney.gov.uk", lists=[news])
    make.subscriber(email="after@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert sorted(ascii_sink.recipients()) == ["after@example.com", "before@example.com"]
    row = db.session.scalars(sa.select(Delivery).filter_by(email="zoë.ahmed@hackney.gov.uk")).one()
    assert (row.status.value, row.last_error) == ("failed", REFUSED)


NAMES = [
    "Zoë 😀 Ahmed",
    "שלום עליכם",
    "山田 太郎",
    'Ann "The Boss", Smith',
    "Evil\r\nBcc: victim@example.net",
    "=?utf-8?q?looks_encoded?=",
    "ë" * 120,
]


@pytest.mark.parametrize("relay", ["smtputf8", "ascii"])
def test_any_display_name_survives_in_the_to_header(app, make, news, relay):
    """Every name reads back as written (line breaks as spaces) and adds no header or address."""
    sink = SmtpSink(port=free_port(), smtputf8=relay == "smtputf8")
    sink.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
    try:
        for n, name in enumerate(NAMES):
            make.subscriber(email=f"p{n}@example.com", name=name, lists=[news])
        make.subscriber(email="zoë@example.com", name=NAMES[0], lists=[news])
        issue = make_issue(make, [news])
        start(issue)
        assert send_here(issue) == IssueStatus.SENT
        received = by_recipient(sink)
    finally:
        sink.stop()
    for n, name in enumerate(NAMES):
        message = received[f"p{n}@example.com"]
        assert message.raw.isascii(), "an ASCII address gets an ASCII header block"
        [address] = message["To"].addresses
        shown = address.display_name
        if len(name) > 60:
            # Folded over several encoded words: RFC 2047 (6.2) drops the space between them,
            # as mail clients do; Python's address parser keeps it.
            shown = shown.replace(" ", "")
        assert shown == " ".join(name.split("\r\n"))
        assert address.addr_spec == f"p{n}@example.com"
        assert message["Bcc"] is None
        for line in message.raw.split(b"\r\n\r\n")[0].split(b"\r\n"):
            assert len(line) <= 998
    if relay == "smtputf8":
        assert received["zoë@example.com"]["To"].addresses[0].display_name == NAMES[0]
    else:
        assert "zoë@example.com" not in received


def test_a_list_name_and_sender_name_in_any_script_are_encoded(app, make, smtp_sink):
    """List-Id and From carry Unicode names as encoded words that read back as written."""
    app.config["MAIL_FROM"] = '"Coalición «Digital», 東京" <news@bücher.example>'
    app.config["BOUNCE_DOMAIN"] = "bücher.example"
    council = make.list(slug="council", name="Conseil municipal — 議会")
    make.subscriber(email="p@example.com", lists=[council])
    issue = make_issue(make, [council], subject="Ünïcödé news 😀")
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    [message] = smtp_sink.messages
    parsed = email.message_from_bytes(message.raw, policy=policy.default)
    assert message.raw.isascii()
    assert parsed["From"].addresses[0].display_name == "Coalición «Digital», 東京"
    assert parsed["From"].addresses[0].addr_spec == "news@xn--bcher-kva.example"
    assert "Conseil municipal — 議会" in str(parsed["List-Id"])
    assert parsed["Subject"] == "Ünïcödé news 😀"
    assert message.mail_from.endswith("@xn--bcher-kva.example")
    assert "@xn--bcher-kva.example>" in parsed["List-Unsubscribe"]


@pytest.mark.parametrize("offered", [True, False], ids=["smtputf8", "ascii"])
def test_reconfirmation_requests_follow_the_same_rule(app, runner, news, tmp_path, offered):
    """An import's reconfirmation request reaches zoë@… by SMTPUTF8, or fails her alone."""
    sink = SmtpSink(port=free_port(), smtputf8=offered)
    sink.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
    try:
        path = tmp_path / "old.csv"
        path.write_text("email,name\nzoë.ahmed@hackney.gov.uk,Zoë\nann@example.com,Ann\n")
        job = finished_import(runner, path, "--consent", "reconfirm")
        issue = start_reconfirmation(job, "test", dispatch=False)
        assert send_here(issue) == IssueStatus.SENT
    finally:
        sink.stop()
    if offered:
        assert sorted(sink.recipients()) == ["ann@example.com", "zoë.ahmed@hackney.gov.uk"]
        zoe = by_recipient(sink)["zoë.ahmed@hackney.gov.uk"]
        assert zoe["To"].addresses[0].display_name == "Zoë"
    else:
        assert sink.recipients() == ["ann@example.com"]
        assert statuses(issue)["zoë.ahmed@hackney.gov.uk"] == "failed"
