"""Searches ignore case in every script, on SQLite as on PostgreSQL: SQLite's own lower() and
LIKE change only A to Z, so "Ελένη" or "ÑANDÚ" found nobody in the laptop setup."""

from __future__ import annotations

import re

import pytest

from tests.web.admin.test_outbox import captured, html_message


@pytest.mark.parametrize("term", ["Ελένη", "ελένη", "ÑANDÚ", "ñandú", "ŌSAKA"])
def test_the_subscribers_search_finds_a_name_in_any_case(admin_client, make, term):
    news = make.list("news", name="News")
    make.subscriber("eleni@παράδειγμα.ελ", name="Ελένη Παπαδοπούλου", lists=[news])
    make.subscriber("jose@example.es", name="José Ñandú", lists=[news])
    make.subscriber("kenji@example.jp", name="Ōsaka Kenji", lists=[news])
    make.subscriber("other@example.org", name="Someone Else", lists=[news])
    page = admin_client.get("/admin/subscribers", query_string={"q": term}).get_data(as_text=True)
    assert "1 subscriber match" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "other@example.org" not in page


@pytest.mark.parametrize("term", ["JOSÉ@EXÄMPLE", "josé@exämple", "ΕΛΈΝΗ", "ōsaka"])
def test_the_outbox_search_finds_a_recipient_or_subject_in_any_case(app, admin_client, term):
    captured(app, html_message("Ōsaka–Zürich: Ελένη writes"), to="josé@exämple.de")
    captured(app, html_message("Something else"), to="bob@example.net")
    page = admin_client.get("/admin/outbox", query_string={"q": term}).get_data(as_text=True)
    assert "josé@exämple.de" in page
    assert "bob@example.net" not in page
