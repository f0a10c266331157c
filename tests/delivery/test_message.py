"""The newsletter message: headers, parts and per-recipient substitution."""

import email
import re
from email import policy

import pytest

from newsletter.compose.render import markdown_to_html, render_issue
from newsletter.delivery.message import IssueMessage
from newsletter.extensions import db
from newsletter.mail import return_path
from newsletter.models import Delivery, SubscriptionStatus
from newsletter.models.base import utcnow
from tests.factories import mailed_issue, make_issue


@pytest.fixture
def config_overrides():
    return {"MAIL_FROM": "Coalition News <news@example.org>", "BOUNCE_DOMAIN": "bounce.example.org"}


@pytest.fixture
def sent(app, make, smtp_sink):
    """One issue to two lists, sent to Zoë (on both) through the test sink."""
    news = make.list(slug="news", name="Monthly news", list_id_label="news.example.org")
    events = make.list(slug="events", name="Events")
    person = make.subscriber(email="zoe@example.com", name="Zoë Ünal", lists=[news, events])
    issue = mailed_issue(make, [news, events], subject="Spring — news", body="# Hi\n\n*Welcome*")
    [message] = smtp_sink.wait_for(1)
    return issue, person, message


def test_message_has_the_bulk_mail_headers(sent):
    """From, To, Subject, Date, Message-ID, List-Id of the primary list, Precedence, Feedback-ID."""
    issue, person, message = sent
    assert message["From"] == "Coalition News <news@example.org>"
    assert message["To"] == "Zoë Ünal <zoe@example.com>"
    assert message["Subject"] == "Spring — news"
    assert message["Date"]
    assert re.fullmatch(r"<\d+\.\d+\.\d+@example\.org>", message["Message-ID"])
    assert message["List-Id"] == "Monthly news <news.example.org>"
    assert message["Precedence"] == "bulk"
    assert message["Feedback-ID"] == f"{issue.id}:news:newsletter:example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_list_unsubscribe_is_a_plain_url_never_an_encoded_word(sent):
    """The raw header is `<http…/unsubscribe/TOKEN/ISSUE>, <mailto:…>` on one line, not RFC 2047."""
    issue, person, message = sent
    [raw_header] = re.findall(rb"^List-Unsubscribe: (.*)\r$", message.raw, re.MULTILINE)
    expected = f"<http://localhost/unsubscribe/{person.unsubscribe_token}/{issue.id}>, <mailto:"
    assert raw_header.decode().startswith(expected)
    assert re.fullmatch(r".*, <mailto:unsubscribe\+[a-z2-7]{26}@[^>]+>", raw_header.decode())


def test_every_line_ends_in_crlf_and_is_short(sent):
    """CRLF throughout; quoted-printable lines within 76 characters."""
    raw = sent[2].raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_both_parts_carry_the_recipients_unsubscribe_link(sent):
    """Text and HTML decode to the person's own link; the Markdown became HTML."""
    issue, person, message = sent
    url = f"http://localhost/unsubscribe/{person.unsubscribe_token}/{issue.id}"
    assert url in message.text()
    assert f'href="{url}"' in message.html()
    assert "<em>Welcome</em>" in message.html()
    assert "Monthly news, Events" in message.text()


def test_envelope_sender_is_a_signed_lowercase_return_path(sent):
    """bounces+TOKEN@BOUNCE_DOMAIN, lowercase, local part within 64, naming the delivery."""
    issue, person, message = sent
    local, _, domain = message.mail_from.partition("@")
    assert domain == "bounce.example.org"
    assert local.startswith("bounces+") and local == local.lower() and len(local) <= 64
    delivery = db.session.query(Delivery).one()
    assert return_path.delivery_id_from(message.mail_from) == delivery.id
    assert return_path.delivery_id_from(message.mail_from.upper()) == delivery.id


def test_a_forged_return_path_names_nothing(app):
    """A token whose signature does not match is refused."""
    token = return_path.signer().token(42)
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert return_path.delivery_id_from(f"bounces+{forged}@localhost") is None
    assert return_path.delivery_id_from("someone@localhost") is None


def test_raw_html_in_markdown_is_escaped():
    """Markdown may not smuggle script or javascript: links into the message."""
    html = markdown_to_html("<script>alert(1)</script>\n\n[x](javascript:alert(1))")
    assert "<script>" not in html
    assert 'href="javascript' not in html


def test_long_lines_still_get_the_link_intact(app, make):
    """A placeholder cut by quoted-printable wrapping falls back to encoding per recipient."""
    news = make.list(slug="news")
    issue = make_issue(make, [news], body="word " * 400)
    built = IssueMessage(issue, render_issue(issue), utcnow())
    raw = built.for_recipient(7, "a@example.com", "", "tok123")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert f"/unsubscribe/tok123/{issue.id}" in parsed.get_body(("plain",)).get_content()


def test_one_click_post_to_the_link_leaves_every_list_of_the_issue(sent, client):
    """RFC 8058 POST to the List-Unsubscribe URL leaves both lists of the issue, with 200."""
    issue, person, message = sent
    url = message["List-Unsubscribe"].split(",")[0].strip("<>").removeprefix("http://localhost")
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert {s.status for s in person.subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}


def test_the_link_leaves_only_the_issues_lists(app, make, client):
    """Someone on a third list stays on it."""
    news, other = make.list(slug="news"), make.list(slug="other")
    person = make.subscriber(lists=[news, other])
    issue = make_issue(make, [news])
    response = client.post(f"/unsubscribe/{person.unsubscribe_token}/{issue.id}")
    assert response.status_code == 200
    by_list = {s.mailing_list.slug: s.status for s in person.subscriptions}
    assert by_list == {
        "news": SubscriptionStatus.UNSUBSCRIBED,
        "other": SubscriptionStatus.CONFIRMED,
    }
