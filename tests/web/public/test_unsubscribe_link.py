"""The unsubscribe link: a page on GET, RFC 8058 one-click on POST, for ever and idempotent."""

import pytest

from newsletter import suppression
from newsletter.models import ConsentAction, ConsentMethod, SubscriptionStatus, SuppressionReason
from tests.support.html import element, elements, main_content
from tests.support.subscribing import BROWSER, events, row_counts, statuses

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED


@pytest.fixture
def ann(make, news, jobs):
    """A person confirmed on two lists."""
    return make.subscriber("ann@example.com", lists=[news, jobs])


def link(subscriber) -> str:
    return f"/unsubscribe/{subscriber.unsubscribe_token}"


def one_click(client, subscriber, **options):
    """POST as a mail client does: the RFC 8058 body, no cookie, no CSRF token."""
    return client.post(
        link(subscriber), data=ONE_CLICK, environ_base={"REMOTE_ADDR": "192.0.2.80"}, **options
    )


def test_get_shows_one_unsubscribe_button_and_a_preferences_link(client, ann):
    """The page names the lists, has one button, and offers to choose lists instead."""
    response = client.get(link(ann))
    assert response.status_code == 200
    page = main_content(response.get_data(as_text=True))
    assert [b.get("type") for b in elements(page, "button")] == ["submit"]
    assert ">Unsubscribe</button>" in page
    assert "<li>News</li>" in page and "<li>Jobs</li>" in page
    assert element(page, "a")["href"].startswith("/preferences/")


def test_get_changes_nothing(client, ann):
    """Link scanners prefetch: opening the link leaves every row as it was."""
    before = row_counts()
    client.get(link(ann))
    assert row_counts() == before
    assert set(statuses("ann@example.com").values()) == {SubscriptionStatus.CONFIRMED}


def test_one_click_post_unsubscribes_at_once_with_200(client, ann):
    """The RFC 8058 body leaves every list and answers 200, not a redirect."""
    response = one_click(client, ann)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "You have unsubscribed" in response.get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": UNSUBSCRIBED, "jobs": UNSUBSCRIBED}


def test_one_click_post_as_multipart_works_too(client, ann):
    """Some mail clients send multipart/form-data; that unsubscribes the same way."""
    response = one_click(client, ann, content_type="multipart/form-data")
    assert response.status_code == 200
    assert statuses("ann@example.com") == {"news": UNSUBSCRIBED, "jobs": UNSUBSCRIBED}
    assert {e.method for e in events("ann@example.com")} == {ConsentMethod.ONE_CLICK}


def test_one_click_post_needs_no_cookie(app, ann):
    """A client that keeps no cookies at all (as a mail provider's server) is enough."""
    mail_provider = app.test_client(use_cookies=False)
    assert one_click(mail_provider, ann).status_code == 200
    assert statuses("ann@example.com")["news"] == UNSUBSCRIBED


def test_head_request_changes_nothing(client, ann):
    """Scanners also probe with HEAD; that must not unsubscribe either."""
    before = row_counts()
    assert client.head(link(ann)).status_code == 200
    assert row_counts() == before


def test_one_click_is_idempotent(client, ann):
    """A second POST answers 200 and records nothing more."""
    one_click(client, ann)
    before = row_counts()
    response = one_click(client, ann)
    assert response.status_code == 200
    assert "You were not subscribed" in response.get_data(as_text=True)
    assert row_counts() == before


def test_one_click_records_evidence(client, ann):
    """One unsubscribed event per list: one_click, the route, IP, UTC time."""
    one_click(client, ann, headers={"User-Agent": BROWSER})
    recorded = events("ann@example.com")
    assert [(e.action, e.method) for e in recorded] == [
        (ConsentAction.UNSUBSCRIBED, ConsentMethod.ONE_CLICK)
    ] * 2
    assert {e.source for e in recorded} == {"/unsubscribe/<token>"}
    assert {(e.ip_address, e.user_agent) for e in recorded} == {("192.0.2.80", BROWSER)}
    assert all(e.occurred_at.utcoffset().total_seconds() == 0 for e in recorded)


def test_the_pages_button_unsubscribes(client, ann):
    """Posting the page's own form leaves every list, recorded as unsubscribe_page."""
    page = client.get(link(ann)).get_data(as_text=True)
    form = {f["name"]: f["value"] for f in elements(main_content(page), "input", type="hidden")}
    response = client.post(link(ann), data=form)
    assert response.status_code == 200
    assert statuses("ann@example.com") == {"news": UNSUBSCRIBED, "jobs": UNSUBSCRIBED}
    assert {e.method for e in events("ann@example.com")} == {ConsentMethod.UNSUBSCRIBE_PAGE}


def test_leaving_every_list_suppresses_as_left_all(client, ann):
    """Once on no list at all, the address is on the suppression list as left_all."""
    one_click(client, ann)
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.LEFT_ALL}


def test_pending_subscriptions_are_left_too(client, make, news, jobs):
    """A person still pending on a list is not left waiting to be confirmed on it."""
    person = make.subscriber("bob@example.com", lists=[news, jobs], status="pending")
    one_click(client, person)
    assert statuses("bob@example.com") == {"news": UNSUBSCRIBED, "jobs": UNSUBSCRIBED}


def test_one_persons_link_leaves_others_alone(client, make, news, ann):
    """The token is the person's: nobody else is unsubscribed."""
    bob = make.subscriber("bob@example.com", lists=[news])
    one_click(client, ann)
    assert statuses("bob@example.com") == {"news": SubscriptionStatus.CONFIRMED}
    assert suppression.active_reasons(bob.email_key) == set()


@pytest.mark.parametrize(
    "token", ["unknown-token", "A" * 32, "A" * 65, "x" * 4000, "..", "%00", "a b"]
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_token_is_a_friendly_404(client, ann, token, method):
    """Any other token gets a page that says the link does not work, and changes nothing."""
    before = row_counts()
    response = client.open(f"/unsubscribe/{token}", method=method, data=ONE_CLICK)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>This unsubscribe link does not work</h1>" in page
    assert "Nothing has changed." in page
    assert "Traceback" not in page
    assert row_counts() == before


class TestWithCsrfOn:
    """With CSRF protection on, as in production, one-click still needs no token."""

    @pytest.fixture
    def config_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_csrf_is_really_on_for_other_forms(self, client, news):
        """The sign-up form without its token is refused, so the next test means something."""
        response = client.post("/subscribe", data={"email": "c@example.com", "lists": "news"})
        assert response.status_code == 400
        assert row_counts()["subscriber"] == 0

    def test_one_click_needs_no_csrf_token(self, client, ann):
        """The mail client's bare POST unsubscribes with a 200."""
        response = one_click(client, ann)
        assert response.status_code == 200
        assert statuses("ann@example.com") == {"news": UNSUBSCRIBED, "jobs": UNSUBSCRIBED}

    def test_multipart_one_click_needs_no_csrf_token(self, client, ann):
        """The same with a multipart body."""
        response = one_click(client, ann, content_type="multipart/form-data")
        assert response.status_code == 200
        assert statuses("ann@example.com")["news"] == UNSUBSCRIBED

    def test_the_pages_button_needs_no_csrf_token(self, client, ann):
        """The page's own form works too (the URL is the secret)."""
        response = client.post(link(ann), data={"List-Unsubscribe": "Unsubscribe-Page"})
        assert response.status_code == 200
        assert statuses("ann@example.com")["jobs"] == UNSUBSCRIBED
