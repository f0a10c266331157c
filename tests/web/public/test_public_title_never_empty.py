"""A subject made only of personal placeholders still gives the public a title: the archive's
link had no text, the web version an empty <title>, and the Atom feed answered 500 for
everyone (feedgen refuses an entry without a title)."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from tests.factories import sent_issue


@pytest.mark.parametrize(
    "subject", ["{{ subscriber.name }}", "{{ subscriber.name }} ({{ subscriber.email }})"]
)
def test_an_issue_with_only_personal_placeholders_has_a_public_title(client, make, subject):
    news = make.list("news", name="Café news")
    issue = sent_issue(make, [news], subject=subject)
    title = f"Café news: issue {issue.id}"
    feed = client.get("/archive/feed.xml")
    assert feed.status_code == 200
    entries = ElementTree.fromstring(feed.data).findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries] == [title]
    archive = client.get("/archive").get_data(as_text=True)
    assert f'<a href="/archive/{issue.id}">{title}</a>' in archive
    page = client.get(f"/archive/{issue.id}").get_data(as_text=True)
    assert re.search(rf"<title>{title}</title>", page)
