"""The sign-up answer tells nothing about an address: same page, status and headers for all."""

import pytest

from newsletter import suppression
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import ConsentMethod, SuppressionReason
from newsletter.subscriptions.unsubscribe import unsubscribe
from tests.support.subscribing import person, sign_up

# Every address has the same length, so the pages may be compared whole, Content-Length too.
ADDRESSES = {
    "new": "state-new@example.com",
    "pending": "state-pen@example.com",
    "confirmed": "state-con@example.com",
    "unsubscribed": "state-uns@example.com",
    "suppressed": "state-sup@example.com",
}
# Headers that differ between any two requests, whatever the address.
VARYING_HEADERS = {"Set-Cookie", "Date"}


@pytest.fixture
def addresses_in_every_state(client, news, make):
    """One address in each state the form could otherwise give away."""
    sign_up(client, ADDRESSES["pending"], "news")
    make.subscriber(ADDRESSES["confirmed"], lists=[news])
    leaver = make.subscriber(ADDRESSES["unsubscribed"], lists=[news])
    unsubscribe(leaver, ConsentMethod.ONE_CLICK, Origin(source="test"))
    make.subscriber(ADDRESSES["suppressed"], lists=[news])
    suppression.suppress(ADDRESSES["suppressed"], SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    assert person(ADDRESSES["new"]) is None


def answer(client, state: str) -> tuple[int, list[tuple[str, str]], str]:
    """Status, headers and page for a sign-up of the address in `state`, address blanked."""
    response = sign_up(client, ADDRESSES[state], "news", ip="198.51.100.1")
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS)
    page = response.get_data(as_text=True)
    assert ADDRESSES[state] in page  # The page echoes the address: blank it, and only it.
    return response.status_code, headers, page.replace(ADDRESSES[state], "ADDRESS")


@pytest.mark.parametrize("state", ["pending", "confirmed", "unsubscribed", "suppressed"])
def test_answer_is_the_same_as_for_a_new_address(client, addresses_in_every_state, state):
    """Status, headers and the whole page match those a brand new address gets."""
    expected = answer(client, "new")
    assert answer(client, state) == expected


def test_answer_for_a_new_address_is_the_check_your_email_page(client, news):
    """The common answer is a 200 page that promises nothing about the address."""
    status, _, page = answer(client, "new")
    assert status == 200
    assert "<h1>Check your email</h1>" in page
    assert "If <strong>ADDRESS</strong> can receive our newsletters" in page
    assert "If you are already subscribed there is nothing more to do." in page


def test_answer_is_given_without_sending_mail_inline(client, news):
    """Mail goes through the worker, so its timing cannot tell: no SMTP server is needed."""
    # The test configuration points SMTP_URL at port 1, where nothing listens.
    response = sign_up(client, ADDRESSES["new"], "news")
    assert response.status_code == 200
