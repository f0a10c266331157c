"""The embedded form keeps /subscribe's promises: one answer whatever the address's standing,
and the same rate limits, counted together with /subscribe's."""

from __future__ import annotations

import pytest

from newsletter import suppression
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import ConsentMethod, SuppressionReason
from newsletter.subscriptions.unsubscribe import unsubscribe
from tests.support.embedding import THANKS, allow, issued_wording, post_embed
from tests.support.subscribing import events, row_counts, sign_up, statuses

LIMITS = {
    "RATELIMIT_ENABLED": True,
    "SIGNUP_RATE_PER_IP": "3 per minute",
    "SIGNUP_RATE_PER_ADDRESS": "2 per hour",
}
# One length for every address, so whole pages compare, Content-Length too.
ADDRESSES = {
    "new": "embed-new@example.com",
    "pending": "embed-pen@example.com",
    "confirmed": "embed-con@example.com",
    "unsubscribed": "embed-uns@example.com",
    "suppressed": "embed-sup@example.com",
}
VARYING_HEADERS = {"Set-Cookie", "Date"}


@pytest.fixture
def wording(app, news):
    allow(app)
    return issued_wording(app, "news")


@pytest.fixture
def known_addresses(client, news, make, wording):
    """An address in every state the answer could otherwise give away."""
    post_embed(client, ADDRESSES["pending"], wording=wording)
    make.subscriber(ADDRESSES["confirmed"], lists=[news])
    leaver = make.subscriber(ADDRESSES["unsubscribed"], lists=[news])
    unsubscribe(leaver, ConsentMethod.ONE_CLICK, Origin(source="test"))
    make.subscriber(ADDRESSES["suppressed"], lists=[news])
    suppression.suppress(ADDRESSES["suppressed"], SuppressionReason.HARD_BOUNCE)
    db.session.commit()


def answer(client, wording: str, state: str, **fields: str):
    response = post_embed(client, ADDRESSES[state], wording=wording, ip="198.51.100.7", **fields)
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS)
    page = response.get_data(as_text=True).replace(ADDRESSES[state], "ADDRESS")
    return response.status_code, headers, page


@pytest.mark.parametrize("state", ["pending", "confirmed", "unsubscribed", "suppressed"])
@pytest.mark.parametrize("thanks", ["", THANKS], ids=["our page", "thank-you page"])
def test_a_known_address_gets_the_answer_a_new_one_gets(
    client, known_addresses, wording, state, thanks
):
    """Status, headers and page are those of a brand new address, redirect or not."""
    expected = answer(client, wording, "new", thanks=thanks)
    assert expected[0] == (303 if thanks else 200)
    assert answer(client, wording, state, thanks=thanks) == expected


@pytest.mark.parametrize("config_overrides", [LIMITS])
def test_the_fourth_post_from_one_network_gets_the_429_page(client, wording):
    """The per-network limit of /subscribe, with its friendly page; nothing more is kept."""
    for n in range(3):
        response = post_embed(client, f"p{n}@example.com", wording=wording, ip="192.0.2.1")
        assert response.status_code == 200
    before = row_counts()
    response = post_embed(client, "p3@example.com", wording=wording, ip="192.0.2.1")
    assert response.status_code == 429
    assert "<h1>Too many attempts</h1>" in response.get_data(as_text=True)
    assert row_counts() == before


@pytest.mark.parametrize("config_overrides", [LIMITS])
def test_the_two_doors_share_one_count(client, wording):
    """Sign-ups through /subscribe and the embedded form count against the same limit."""
    for n in range(2):
        assert sign_up(client, f"p{n}@example.com", "news", ip="192.0.2.1").status_code == 200
    assert post_embed(client, "p2@example.com", wording=wording, ip="192.0.2.1").status_code == 200
    assert sign_up(client, "p3@example.com", "news", ip="192.0.2.1").status_code == 429


@pytest.mark.parametrize("config_overrides", [LIMITS])
def test_past_the_address_limit_the_answer_is_the_same_and_nothing_is_recorded(
    client, wording, jobs
):
    """The silent per-address limit: a third request in the hour changes nothing."""
    for ip in ("192.0.2.1", "192.0.2.2"):
        post_embed(client, "ann@example.com", wording=wording, ip=ip)
    recorded = len(events("ann@example.com"))
    response = post_embed(client, "ann@example.com", wording=wording, ip="192.0.2.3")
    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in response.get_data(as_text=True)
    assert len(events("ann@example.com")) == recorded
    assert statuses("ann@example.com") == {"news": "pending"}


@pytest.mark.parametrize("config_overrides", [LIMITS])
def test_a_refused_site_counts_nothing(client, wording):
    """Posts from a site not allowed are refused before any limit is counted."""
    for n in range(5):
        response = post_embed(
            client, f"p{n}@example.com", wording=wording, origin="https://evil.example"
        )
        assert response.status_code == 403
    assert post_embed(client, "ok@example.com", wording=wording).status_code == 200
