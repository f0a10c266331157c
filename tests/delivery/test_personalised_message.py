"""The delivery engine fills each person's placeholders into the message rendered once."""

import email
import re
from email import policy

import pytest

from newsletter.compose.render import render_issue
from newsletter.delivery.message import IssueMessage
from newsletter.models.base import utcnow
from newsletter.subscriptions.links import PreferencesLinkSigner, link_payload
from newsletter.tokens import read_token
from tests.factories import mailed_issue, make_issue


@pytest.fixture
def sent(app, make, smtp_sink):
    """An issue using every per-recipient placeholder, sent to two people."""
    news = make.list(slug="news", name="Monthly news")
    people = [
        make.subscriber(email="ann@example.com", name="Ann <Admin> & Co", lists=[news]),
        make.subscriber(email="bob@example.com", name="", lists=[news]),
    ]
    body = (
        "Dear {{ subscriber.name }},\n\nWe write to {{ subscriber.email }} about "
        "{{ list.name }}.\n\n[Leave]({{ unsubscribe_url }}) or [choose]({{ preferences_url }})."
    )
    issue = mailed_issue(make, [news], subject="For {{ subscriber.name }}", body=body)
    messages = {m.rcpt_tos[0]: m for m in smtp_sink.wait_for(2)}
    return issue, people, messages


def test_each_person_gets_their_own_name_and_address(sent):
    """The name and address are filled per recipient; a person without a name is "reader"."""
    issue, (ann, bob), messages = sent
    assert "Dear Ann <Admin> & Co," in messages["ann@example.com"].text()
    assert "Dear reader," in messages["bob@example.com"].text()
    assert "We write to bob@example.com about Monthly news." in messages["bob@example.com"].text()


def test_values_are_escaped_in_the_html_part(sent):
    """A name with markup characters is text in the HTML part, never markup."""
    _, _, messages = sent
    html = messages["ann@example.com"].html()
    assert "Dear Ann &lt;Admin&gt; &amp; Co," in html and "<Admin>" not in html


def test_the_subject_is_personalised(sent):
    """A placeholder in the subject is filled for each person."""
    _, _, messages = sent
    assert messages["ann@example.com"]["Subject"] == "For Ann <Admin> & Co"
    assert messages["bob@example.com"]["Subject"] == "For reader"


def test_links_are_the_persons_own_and_work(sent, client):
    """The unsubscribe link carries their token; the preferences link opens their page."""
    issue, (ann, bob), messages = sent
    text = messages["bob@example.com"].text()
    assert f"http://localhost/unsubscribe/{bob.unsubscribe_token}/{issue.id}" in text
    [path] = set(re.findall(r"http://localhost(/preferences/[A-Za-z0-9_.\-]+)", text))
    page = client.get(path)
    assert page.status_code == 200 and "bob@example.com" in page.get_data(as_text=True)


def test_no_marker_is_left_anywhere(sent):
    """Every marker is replaced in both parts and the headers."""
    _, _, messages = sent
    for message in messages.values():
        assert not re.search(r"NL[a-zA-Z]+[0-9][a-z]", message.raw.decode("ascii", "replace"))


def test_placeholders_inside_long_lines_survive_quoted_printable(app, make):
    """Markers in lines longer than 76 characters are filled whole; encoded lines stay short."""
    news = make.list(slug="news")
    body = ("é" * 37 + " {{ subscriber.name }} ") * 30 + "[x]({{ unsubscribe_url }})"
    issue = make_issue(make, [news], body=body)
    raw = IssueMessage(issue, render_issue(issue), utcnow()).for_recipient(
        7, "a@example.com", "Zoë Ünal", "tok123", 42
    )
    payload = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in payload.split(b"\r\n")) <= 76
    parsed = email.message_from_bytes(raw, policy=policy.default)
    for subtype in ("plain", "html"):
        content = parsed.get_body((subtype,)).get_content()
        assert content.count("Zoë Ünal") == 30
        assert f"/unsubscribe/tok123/{issue.id}" in content


def test_batch_signed_preferences_tokens_are_ordinary_tokens(app):
    """The delivery engine's fast preferences token reads back as the usual payload."""
    token = PreferencesLinkSigner().token(42, "AbC-_xyz0123456789")
    assert read_token("preferences", token, 60) == link_payload(42, "AbC-_xyz0123456789")
