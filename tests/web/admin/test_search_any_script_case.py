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


def _matches(admin_client, term: str) -> str:
    page = admin_client.get("/admin/subscribers", query_string={"q": term}).get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


@pytest.mark.parametrize("term", ["straße", "STRASSE", "Strasse", "STRAẞE"])
def test_the_subscribers_search_treats_sharp_s_as_ss_on_every_database(admin_client, make, term):
    """A name typed 'Straße' and one typed 'STRASSE' are one case fold: each term finds both."""
    news = make.list("news", name="News")
    make.subscriber("anna@example.de", name="Anna Straße", lists=[news])
    make.subscriber("bernd@example.de", name="BERND STRASSE", lists=[news])
    make.subscriber("other@example.org", name="Someone Else", lists=[news])
    text = _matches(admin_client, term)
    assert "2 subscribers match" in text
    assert "anna@example.de" in text and "bernd@example.de" in text
    assert "other@example.org" not in text


@pytest.mark.parametrize("term", ["ελένησ", "Ελένης", "ΕΛΈΝΗΣ", "ελένης"])
def test_the_subscribers_search_treats_final_sigma_as_sigma_on_every_database(
    admin_client, make, term
):
    """'Ελένης' typed with ς and 'ΕΛΈΝΗΣ' in capitals (lowered to ς by SQLite, σ by
    PostgreSQL) are both found by the term with either sigma."""
    news = make.list("news", name="News")
    make.subscriber("eleni@example.gr", name="Ελένης Παπά", lists=[news])
    make.subscriber("upper@example.gr", name="ΕΛΈΝΗΣ ΚΑΡΡΆ", lists=[news])
    make.subscriber("other@example.org", name="Ελένη Άλλη", lists=[news])
    text = _matches(admin_client, term)
    assert "2 subscribers match" in text
    assert "eleni@example.gr" in text and "upper@example.gr" in text
    assert "other@example.org" not in text


def test_a_search_term_keeps_its_like_wildcards_literal_in_every_spelling(admin_client, make):
    news = make.list("news", name="News")
    make.subscriber("a_ss@example.org", name="Percent", lists=[news])
    make.subscriber("abss@example.org", name="Other", lists=[news])
    text = _matches(admin_client, "a_ß")
    assert "a_ss@example.org" in text and "abss@example.org" not in text


@pytest.mark.parametrize("term", ["Straße", "STRASSE", "ελένησ"])
def test_the_outbox_search_folds_sharp_s_and_final_sigma(app, admin_client, term):
    captured(app, html_message("Die Strasse der Ελένης"), to="anna@example.de")
    captured(app, html_message("Something else"), to="bob@example.net")
    page = admin_client.get("/admin/outbox", query_string={"q": term}).get_data(as_text=True)
    assert "anna@example.de" in page
    assert "bob@example.net" not in page
