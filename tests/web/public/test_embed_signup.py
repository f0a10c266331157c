"""POST /subscribe/embed: the embedded sign-up form, from the organisation's allowed sites only,
starting the same double opt-in as /subscribe with the snippet's own wording."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import ConsentWording
from newsletter.web.public.embed import OUT_OF_DATE
from tests.support.embedding import SITE, THANKS, allow, issued_wording, post_embed
from tests.support.subscribing import events, link_path, person, row_counts, statuses


@pytest.fixture
def wording(app, news):
    """The allow-lists saved, and the wording version of News's snippet."""
    allow(app)
    return issued_wording(app, "news")


def test_sign_up_from_an_allowed_site_sends_the_confirmation_mail(client, mail, wording):
    """The answer is "Check your email", the person is pending and the mail names the list."""
    response = post_embed(client, "ann@example.com", wording=wording, name="Ann")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Check your email</h1>" in page
    assert "ann@example.com" in page
    assert "Set-Cookie" not in response.headers
    message = mail.only_message()
    assert message.rcpt_tos == ["ann@example.com"]
    assert statuses("ann@example.com") == {"news": "pending"}
    response = client.post(link_path(message, "confirm"))
    assert statuses("ann@example.com") == {"news": "confirmed"}


def test_the_consent_record_holds_the_snippets_wording(client, mail, wording):
    """The request event names the snippet's version, whose stored text is the snippet's."""
    post_embed(client, "ann@example.com", wording=wording)
    mail.deliver()
    (requested,) = events("ann@example.com")
    assert requested.wording_version == wording
    assert requested.source == "/subscribe/embed"
    text = db.session.get(ConsentWording, wording).text
    assert "Get News from" in text
    assert "By selecting “Sign up” you ask" in text
    assert "Leave this field empty" not in text  # the honeypot is not what people read


def test_an_international_address_and_name(client, mail, wording):
    """An IDN domain and an accented name go through as typed."""
    post_embed(client, "zoë@bücher.example", wording=wording, name="Zoë Ångström-Ñúñez")
    message = mail.only_message()
    assert message.rcpt_tos == ["zoë@bücher.example"]
    assert person("zoë@bücher.example").name == "Zoë Ångström-Ñúñez"


def test_the_origin_may_come_from_the_referer(client, mail, wording):
    """Without an Origin header, the Referer's origin is checked instead."""
    response = post_embed(
        client, "ann@example.com", wording=wording, origin=None, referer=f"{SITE}/news/join?x=1"
    )
    assert response.status_code == 200
    assert statuses("ann@example.com") == {"news": "pending"}


@pytest.mark.parametrize(
    "origin, referer",
    [
        ("https://evil.example", None),
        ("https://evil.example", f"{SITE}/news"),  # the Origin decides when there is one
        ("http://www.coalition.example", None),  # another scheme is another origin
        ("https://www.coalition.example:8443", None),
        (None, "https://coalition.example.evil.example/"),
    ],
)
def test_a_site_not_allowed_is_refused_and_nothing_changes(client, wording, origin, referer):
    """A 403 page that names the site and offers our own sign-up page; nothing is written."""
    before = row_counts()
    response = post_embed(
        client, "ann@example.com", wording=wording, origin=origin, referer=referer
    )
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "<h1>This sign-up form cannot be used from that site</h1>" in page
    assert 'href="/subscribe?list=news"' in page
    assert "has not allowed" in page
    assert row_counts() == before


@pytest.mark.parametrize("origin", [None, "null"])
def test_no_origin_at_all_is_refused_with_a_clear_page(client, wording, origin):
    """No Origin (or `null`) and no Referer: refused, saying the browser did not tell us."""
    before = row_counts()
    response = post_embed(client, "ann@example.com", wording=wording, origin=origin)
    assert response.status_code == 403
    assert "did not tell us which website" in response.get_data(as_text=True)
    assert row_counts() == before


def test_no_site_is_allowed_until_an_admin_adds_one(client, news, app):
    """With the allow-list empty every post is refused."""
    version = issued_wording(app, "news")
    response = post_embed(client, "ann@example.com", wording=version)
    assert response.status_code == 403


def test_an_allowed_thank_you_page_gets_a_303(client, mail, wording):
    """The snippet's thank-you page, when allow-listed, is where the person lands."""
    response = post_embed(client, "ann@example.com", wording=wording, thanks=THANKS)
    assert response.status_code == 303
    assert response.headers["Location"] == THANKS
    assert statuses("ann@example.com") == {"news": "pending"}


@pytest.mark.parametrize(
    "thanks",
    ["https://evil.example/thank-you", f"{THANKS}/../../elsewhere", "javascript:alert(1)", "//x"],
)
def test_an_unlisted_thank_you_page_falls_back_to_our_page(client, mail, wording, thanks):
    """Never an open redirect: anything not listed gets our "Check your email" page."""
    response = post_embed(client, "ann@example.com", wording=wording, thanks=thanks)
    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in response.get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": "pending"}


def test_the_honeypot_gets_the_same_answer_and_records_nothing(client, mail, wording):
    """A bot filling the hidden field is answered as a person is, and nothing is kept or sent."""
    before = row_counts()
    response = post_embed(client, "bot@example.com", wording=wording, website="http://spam")
    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in response.get_data(as_text=True)
    assert mail.deliver() == []
    assert row_counts() == before


def test_a_bad_address_shows_our_sign_up_page_with_the_values_kept(client, wording):
    """Our accessible form, with the error summary, the values sent, posting to /subscribe."""
    before = row_counts()
    response = post_embed(client, "ann@", wording=wording, name="Zoë")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page
    assert 'href="#email"' in page
    assert 'value="ann@"' in page
    assert 'value="Zoë"' in page
    assert 'action="/subscribe?list=news"' in page
    assert re.search(r'<input[^>]*value="news"[^>]*checked', page)
    assert row_counts() == before


@pytest.mark.parametrize("which", ["forged", "another list's", "missing"])
def test_a_wording_not_issued_for_the_list_is_never_recorded(client, app, jobs, wording, which):
    """A post naming words we never gave out for this list gets our page to sign up on."""
    versions = {"forged": "f" * 64, "another list's": issued_wording(app, "jobs"), "missing": ""}
    before = row_counts()
    response = post_embed(client, "ann@example.com", wording=versions[which])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert OUT_OF_DATE in page
    assert 'value="ann@example.com"' in page
    assert row_counts() == before


def test_a_list_no_longer_public_is_not_signed_up_to(client, app, make, wording):
    """A snippet of a list made private gets our page with every public list to choose from."""
    from newsletter.lists import get_list

    make.list("jobs", name="Jobs")
    get_list("news").is_public = False
    db.session.commit()
    response = post_embed(client, "ann@example.com", wording=wording)
    assert response.status_code == 400
    assert "Select newsletters from the list shown" in response.get_data(as_text=True)
    assert person("ann@example.com") is None


def test_an_older_snippet_keeps_working_after_the_list_is_renamed(client, app, mail, wording):
    """Each version issued for the list stays valid, and records its own words."""
    from newsletter.lists import get_list

    get_list("news").name = "Coalition news"
    db.session.commit()
    newer = issued_wording(app, "news")
    assert newer != wording
    post_embed(client, "old@example.com", wording=wording)
    post_embed(client, "new@example.com", wording=newer)
    mail.deliver()
    assert events("old@example.com")[0].wording_version == wording
    assert events("new@example.com")[0].wording_version == newer
    texts = db.session.scalars(select(ConsentWording.text)).all()
    assert any("Get Coalition news from" in text for text in texts)
