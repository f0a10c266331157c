"""A likely typing mistake in a sign-up's domain gets "did you mean …?"; the person may take it
or sign up with the address as they typed it. The suggestion depends on the typed text only."""

from __future__ import annotations

import pytest

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import SuppressionReason
from newsletter.web.public.typos import distance, suggest
from tests.support.html import element, elements
from tests.support.queries import recorded_statements
from tests.support.subscribing import person, row_counts, sign_up


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ann@gmail.con", "ann@gmail.com"),
        ("ann@gmail.cmo", "ann@gmail.com"),
        ("ann@gmail.co", "ann@gmail.com"),
        ("ann@gmial.com", "ann@gmail.com"),
        ("ann@hotmial.com", "ann@hotmail.com"),
        ("ann@hotmial.con", "ann@hotmail.com"),
        ("ann@hotmail.co.ul", "ann@hotmail.co.uk"),
        ("ann@yahooo.co.uk", "ann@yahoo.co.uk"),
        ("ann@outlok.com", "ann@outlook.com"),
        ("ann@btinternet.con", "ann@btinternet.com"),
        ("ann@btinternett.com", "ann@btinternet.com"),
        ("ann@sky.con", "ann@sky.com"),
        ("Ann.Lee@GMAIL.CON", "Ann.Lee@gmail.com"),
    ],
)
def test_a_likely_typo_in_the_domain_gets_a_suggestion(typed, meant):
    assert suggest(typed) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "ann@gmail.com",  # correct
        "ann@hotmail.co.uk",
        "ann@example.org",  # unknown but plausible
        "ann@coalition.org.uk",
        "ann@council.gov.uk",
        "ann@nhs.net",
        "ann@yahoo.fr",  # a real suffix: another country's provider
        "ann@yahoo.ca",
        "ann@gmx.de",
        "ann@lime.com",  # a short real domain a letter from a short provider's name
        "ann@gmc.com",
        "ann@email.com",
        "not-an-address",
        "@gmail.con",
    ],
)
def test_a_correct_or_plausible_domain_gets_none(typed):
    assert suggest(typed) is None


def test_distance_counts_a_swap_as_one_mistake():
    assert distance("hotmial", "hotmail") == 1
    assert distance("gmail", "gmail") == 0
    assert distance("con", "com") == 1
    assert distance("a", "abcdef") == 3  # far apart: capped, never suggested


def test_the_form_asks_and_stores_nothing_yet(client, news):
    """The first submit of a likely typo shows the suggestion, with a button to take it and
    the address as typed kept; nobody is signed up yet."""
    before = row_counts()
    response = sign_up(client, "ann@gmail.con", "news", name="Ann")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Did you mean <strong>ann@gmail.com</strong>?" in page
    assert "<title>Check your email address – Sign up" in page
    assert element(page, "button", name="use_suggestion")["value"] == "1"
    assert element(page, "input", name="checked_email")["value"] == "ann@gmail.con"
    field = element(page, "input", name="email")
    assert field["value"] == "ann@gmail.con"
    assert "email-suggestion" in field["aria-describedby"]
    assert element(page, "input", name="name")["value"] == "Ann"
    assert "checked" in element(page, "input", value="news")
    assert row_counts() == before


def test_taking_the_suggestion_signs_up_the_corrected_address(client, news):
    sign_up(client, "ann@gmail.con", "news")
    response = sign_up(
        client, "ann@gmail.con", "news", checked_email="ann@gmail.con", use_suggestion="1"
    )
    assert response.status_code == 200
    assert "<strong>ann@gmail.com</strong>" in response.get_data(as_text=True)
    assert person("ann@gmail.com") is not None
    assert person("ann@gmail.con") is None


def test_the_same_text_sent_again_goes_through_as_typed(client, news):
    """Select "Sign up" again without changing the address: it is what the person means."""
    sign_up(client, "ann@gmail.con", "news")
    response = sign_up(client, "ann@gmail.con", "news", checked_email="ann@gmail.con")
    assert "<strong>ann@gmail.con</strong>" in response.get_data(as_text=True)
    assert person("ann@gmail.con") is not None
    assert person("ann@gmail.com") is None


def test_an_address_changed_after_the_question_is_checked_again(client, news):
    """A new typo is asked about anew, and the old answer's button does not apply to it."""
    response = sign_up(
        client, "bob@hotmial.com", "news", checked_email="ann@gmail.con", use_suggestion="1"
    )
    page = response.get_data(as_text=True)
    assert "Did you mean <strong>bob@hotmail.com</strong>?" in page
    assert person("bob@hotmial.com") is None and person("bob@hotmail.com") is None


def test_a_form_with_errors_shows_the_errors_not_the_suggestion(client, news):
    response = sign_up(client, "ann@gmail.con", name="Ann")  # no list chosen
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Select at least one newsletter" in page
    assert not elements(page, "button", name="use_suggestion")


def test_the_suggestion_reads_nothing_and_tells_nothing(client, news, make):
    """Whether the corrected address is known, suppressed or new, the question is the same
    page, and asking it touches no table (the no-oracle rule)."""
    make.subscriber("zknownz@gmail.com", lists=[news])
    suppression.suppress("zgonezz@gmail.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    pages = []
    for local in ("zknownz", "zgonezz", "zfreshz"):
        with recorded_statements() as statements:
            response = sign_up(client, f"{local}@gmail.con", "news")
        assert not [s for s in statements if "subscriber" in s or "suppression" in s]
        pages.append(response.get_data(as_text=True).replace(local, "X"))
    assert pages[0] == pages[1] == pages[2]


def test_the_consent_wording_is_the_blank_form(client, news, app):
    """The stored wording is the form as first shown: no "did you mean" in it."""
    from newsletter.web.public.signup import _wording

    sign_up(client, "ann@gmail.con", "news")
    with app.test_request_context():
        assert "Did you mean" not in _wording([news])
