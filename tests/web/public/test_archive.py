"""The public archive, its Atom feed and signed web versions of private issues."""

import re
import xml.etree.ElementTree as ET

import pytest

from tests.factories import mailed_issue, make_issue

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def board(make):
    return make.list(slug="board", name="Board papers", is_public=False)


@pytest.fixture
def issues(app, make, news, board, smtp_sink):
    """A sent public issue, a sent private one and a public draft."""
    make.subscriber(email="zoe@example.com", name="Zoë", lists=[news, board])
    public = mailed_issue(
        make, [news], subject="Hello {{ subscriber.name }}",
        body="Dear {{ subscriber.name }} at {{ subscriber.email }}, [leave]({{ unsubscribe_url }})",
    )  # fmt: skip
    private = mailed_issue(make, [board], subject="Board minutes")
    draft = make_issue(make, [news], subject="Not yet")
    return public, private, draft


def test_archive_lists_only_sent_issues_of_public_lists(client, issues):
    """Sent public issues appear; private lists and drafts do not."""
    page = client.get("/archive").get_data(as_text=True)
    assert ">Hello</a>" in page
    assert "Board minutes" not in page and "Not yet" not in page


def test_archive_page_is_the_web_version_without_personal_data(client, issues):
    """The page shows the issue with no name, address or token."""
    public, _, _ = issues
    response = client.get(f"/archive/{public.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dear reader at your email address" in page
    assert "Zoë" not in page and "zoe@example.com" not in page
    assert "/unsubscribe/" not in page and "/preferences/" not in page
    assert "script-src" not in response.headers["Content-Security-Policy"]


def test_private_drafts_and_unknown_issues_are_not_found(client, issues):
    """A private issue, a draft or a missing id is a 404 in the archive."""
    _, private, draft = issues
    for issue_id in (private.id, draft.id, 999999):
        response = client.get(f"/archive/{issue_id}")
        assert response.status_code == 404
        # Our own "not found" page, with our stylesheet (the web version's policy would block it).
        assert "style-src 'self'" in response.headers["Content-Security-Policy"]


def test_feed_is_atom_with_an_entry_per_archived_issue(client, issues):
    """feed.xml parses as Atom, names the archive page and leaves private issues out."""
    public, _, _ = issues
    response = client.get("/archive/feed.xml")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Hello"]
    assert entries[0].find(f"{ATOM}link").get("href") == f"http://localhost/archive/{public.id}"


def test_private_issue_mail_links_to_a_signed_web_version(client, issues, smtp_sink):
    """The private issue's view-in-browser link works; an altered one does not."""
    _, private, _ = issues
    [message] = [m for m in smtp_sink.messages if m["Subject"] == "Board minutes"]
    [path] = set(re.findall(r"http://localhost(/web/[A-Za-z0-9_.\-]+)", message.text()))
    response = client.get(path)
    assert response.status_code == 200 and "Board minutes" in response.get_data(as_text=True)
    assert client.get(path[:-2] + "xx").status_code == 404


def test_public_issue_mail_links_to_its_archive_page(issues, smtp_sink):
    """The view-in-browser link of a public issue is its archive page."""
    public, _, _ = issues
    [message] = [m for m in smtp_sink.messages if m["Subject"] == "Hello Zoë"]
    assert f"http://localhost/archive/{public.id}" in message.text()
