"""The public side's front door, and no dead ends: home, archive and web versions link on."""

import re

import pytest

from newsletter.compose.render import web_subject
from newsletter.extensions import db
from tests.factories import mailed_issue, make_issue, send_here, start


@pytest.fixture
def published(app, make, news, smtp_sink):
    make.subscriber(email="zoe@example.com", name="Zoë", lists=[news])
    return mailed_issue(make, [news], subject="Spring news, {{ subscriber.name }}!")


def test_home_leads_to_sign_up_and_the_archive(client, published):
    response = client.get("/")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/subscribe"' in text and 'href="/archive"' in text
    assert f'href="/archive/{published.id}">Spring news!</a>' in text
    assert "reader" not in text and "Zoë" not in text
    # The same for everyone: caches may keep it.
    assert response.headers.get("Cache-Control") != "no-store"


def test_home_without_issues_still_offers_sign_up(client, news):
    text = client.get("/").get_data(as_text=True)
    assert "Nothing has been sent yet" in text and 'href="/subscribe"' in text


def test_site_name_in_the_header_leads_home(client):
    text = client.get("/privacy").get_data(as_text=True)
    assert re.search(r'<a class="site-name" href="/">', text)


def test_archive_links_home_and_to_sign_up(client, published):
    text = client.get("/archive").get_data(as_text=True)
    assert 'href="/"' in text and 'href="/subscribe"' in text
    assert ">Spring news!</a>" in text


@pytest.mark.parametrize("layout", ["default", "plain"])
def test_web_version_has_the_site_header_and_links_on(client, make, news, smtp_sink, layout):
    """The header names the site and links to the archive and sign-up; the public title
    (<title> and <h1>) leaves the personal placeholder out."""
    make.subscriber(email="zoe@example.com", name="Zoë", lists=[news])
    issue = make_issue(make, [news], subject="{{ subscriber.name }}, your spring update")
    issue.layout = layout
    db.session.commit()
    start(issue)
    send_here(issue)
    text = client.get(f"/archive/{issue.id}").get_data(as_text=True)
    assert 'href="http://localhost/archive"' in text
    assert 'href="http://localhost/subscribe"' in text
    assert 'href="http://localhost/"' in text
    assert "<title>Your spring update</title>" in text
    assert re.search(r"<h1[^>]*>Your spring update</h1>", text)
    assert "reader," not in text


@pytest.mark.parametrize(
    ("subject", "public"),
    [
        ("Spring news, {{ subscriber.name }}!", "Spring news!"),
        ("{{ subscriber.name }}, your spring update", "Your spring update"),
        ("Hello {{ subscriber.name }}, here is May", "Hello, here is May"),
        ("News for {{ subscriber.name }} ({{ subscriber.email }})", "News for"),
        ("Spring news – {{ subscriber.name }}", "Spring news"),
        ("{{ list.name }}: May", "News: May"),
        ("No placeholders at all", "No placeholders at all"),
    ],
)
def test_public_titles_leave_the_personal_part_out(app, make, news, subject, public):
    issue = make_issue(make, [news], subject=subject)
    assert web_subject(issue) == public
