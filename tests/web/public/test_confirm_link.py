"""Double opt-in through the real mail path: the confirmation mail, its link, and the evidence."""

import re
import time
import types
from datetime import UTC, timedelta
from unittest import mock

import itsdangerous.timed
import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from newsletter import suppression
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    ConsentWording,
    OptInLevel,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions import links
from newsletter.subscriptions.confirmation import CONFIRMATION_MAILS_PER_DAY
from newsletter.subscriptions.links import link_payload, preferences_token
from newsletter.subscriptions.unsubscribe import unsubscribe_by_admin
from newsletter.tokens import make_token
from tests.support.html import main_content
from tests.support.subscribing import (
    BROWSER,
    events,
    link_path,
    person,
    row_counts,
    sign_up,
    statuses,
)

PENDING = SubscriptionStatus.PENDING
CONFIRMED = SubscriptionStatus.CONFIRMED


def confirm_path(client, mail, email="ann@example.com", *slugs) -> str:
    """Sign up (to news unless told) and return the path of the link in the mail that comes."""
    assert sign_up(client, email, *(slugs or ("news",))).status_code == 200
    return link_path(mail.only_message(), "confirm")


def open_link(client, path, ip="203.0.113.5"):
    """Open the link, as a browser (or a mail scanner) would: a GET."""
    return client.get(path, environ_base={"REMOTE_ADDR": ip}, headers={"User-Agent": BROWSER})


def press(client, path, ip="203.0.113.5"):
    """Press the page's button: the POST its form sends (no cookie, no other field)."""
    return client.post(path, environ_base={"REMOTE_ADDR": ip}, headers={"User-Agent": BROWSER})


def click(client, path, ip="203.0.113.5"):
    """What a person does: open the link, see the button, press it."""
    page = open_link(client, path, ip)
    assert page.status_code == 200
    assert "Confirm my subscription</button>" in page.get_data(as_text=True)
    return press(client, path, ip)


def clocks_ahead(monkeypatch, hours: float) -> None:
    """Make itsdangerous read a clock `hours` ahead, as if the link were opened later."""
    ahead = types.SimpleNamespace(time=lambda: time.time() + hours * 3600)
    monkeypatch.setattr(itsdangerous.timed, "time", ahead)


def test_sign_up_mails_a_confirmation_link_to_the_address(client, news, mail):
    """The form leads to one mail, to the address typed, holding a confirm link."""
    sign_up(client, "Ann@Example.com", "news")
    message = mail.only_message()
    assert message.rcpt_tos == ["Ann@example.com"]
    assert link_path(message, "confirm").startswith("/confirm/")


def test_opening_the_link_shows_a_button_and_changes_nothing(client, news, jobs, mail):
    """The link's page names the lists and has one button; opening it confirms nothing."""
    path = confirm_path(client, mail, "ann@example.com", "news", "jobs")
    before = row_counts()
    response = open_link(client, path)
    assert response.status_code == 200
    page = main_content(response.get_data(as_text=True))
    assert "<h1>Confirm your subscription</h1>" in page
    assert "<li>News</li>" in page and "<li>Jobs</li>" in page
    assert page.count("<button") == 1
    assert '<form method="post">' in page  # to the link's own address
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": PENDING, "jobs": PENDING}


def test_pressing_the_button_confirms_and_says_so(client, news, mail):
    """The button confirms the pending list and shows a confirmation page naming it."""
    path = confirm_path(client, mail)
    response = click(client, path)
    assert response.status_code == 200
    page = main_content(response.get_data(as_text=True))
    assert "Subscription confirmed" in page
    assert "<li>News</li>" in page
    assert 'href="/preferences/' in page
    assert statuses("ann@example.com") == {"news": CONFIRMED}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "query, headers",
    [
        ("", {"User-Agent": "Microsoft Office Existence Discovery"}),
        ("?confirm=1", {"Purpose": "prefetch", "Sec-Purpose": "prefetch"}),
        ("?List-Unsubscribe=One-Click&submit=Confirm", {"X-Requested-With": "XMLHttpRequest"}),
        ("?token=x&token=y", {"Accept": "*/*", "Referer": "https://safelinks.example.net/"}),
    ],
)
def test_a_scanner_fetching_the_link_changes_nothing(client, news, mail, method, query, headers):
    """Whatever a link scanner sends with a GET or HEAD, nobody is confirmed."""
    path = confirm_path(client, mail)
    before = row_counts()
    response = client.open(path + query, method=method, headers=headers)
    assert response.status_code == 200
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": PENDING}
    assert "Set-Cookie" not in response.headers


class TestInAFreshBrowserWithCsrfOn:
    """The button works for someone who opens the mail in a browser with no cookie of ours."""

    @pytest.fixture
    def config_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_button_confirms_with_no_session(self, app, news, mail):
        """The page starts no session and its form carries no CSRF token; the POST confirms."""
        signing_up = app.test_client()
        form = signing_up.get("/subscribe").get_data(as_text=True)
        csrf_token = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', form)[1]
        assert (
            sign_up(signing_up, "ann@example.com", "news", csrf_token=csrf_token).status_code == 200
        )
        path = link_path(mail.only_message(), "confirm")
        client = app.test_client()  # the mail opened in another browser
        page = open_link(client, path)
        assert "Set-Cookie" not in page.headers
        assert "csrf_token" not in page.get_data(as_text=True)
        assert press(client, path).status_code == 200
        assert statuses("ann@example.com") == {"news": CONFIRMED}


def test_second_press_says_they_are_already_subscribed(client, news, mail):
    """Pressing again (or opening the link again) is no error, and records nothing new."""
    path = confirm_path(client, mail)
    click(client, path)
    before = row_counts()
    for response in (press(client, path), open_link(client, path)):
        assert response.status_code == 200
        page = main_content(response.get_data(as_text=True))
        assert "You are already subscribed" in page
        assert "<li>News</li>" in page
        assert "<button" not in page
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": CONFIRMED}


def test_a_used_link_of_someone_who_left_says_so_and_confirms_nothing(client, make, news, mail):
    """Confirmed, then left, then asked for again by someone: the old link is used up."""
    path = confirm_path(client, mail)
    click(client, path)
    leave = client.post(f"/unsubscribe/{person('ann@example.com').unsubscribe_token}")
    assert leave.status_code == 200
    response = open_link(client, path)
    assert response.status_code == 410
    page = main_content(response.get_data(as_text=True))
    assert "<h1>This link has already been used</h1>" in page
    assert '<a href="/subscribe">Sign up again</a>' in page
    sign_up(client, "ann@example.com", "news")
    before = row_counts()
    assert press(client, path).status_code == 410
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": PENDING}


def test_link_still_works_after_71_hours(client, news, mail, monkeypatch):
    """The link is valid for 72 hours."""
    path = confirm_path(client, mail)
    clocks_ahead(monkeypatch, 71)
    assert press(client, path).status_code == 200
    assert statuses("ann@example.com") == {"news": CONFIRMED}


def test_link_has_expired_after_73_hours(client, news, mail, monkeypatch):
    """Past 72 hours the link no longer confirms."""
    path = confirm_path(client, mail)
    clocks_ahead(monkeypatch, 73)
    assert open_link(client, path).status_code == 410
    assert press(client, path).status_code == 410
    assert statuses("ann@example.com") == {"news": PENDING}


def test_expired_link_offers_to_sign_up_again_and_changes_nothing(client, news, mail, monkeypatch):
    """An old link gets a page that says so and links to the form; no row changes."""
    path = confirm_path(client, mail)
    monkeypatch.setattr(links, "CONFIRM_MAX_AGE", timedelta(seconds=-1))
    before = row_counts()
    assert press(client, path).status_code == 410
    response = open_link(client, path)
    assert response.status_code == 410
    page = main_content(response.get_data(as_text=True))
    assert "<h1>This link has expired</h1>" in page
    assert "Nothing has changed: any newsletters you had already confirmed are not" in page
    assert '<a href="/subscribe">Sign up again</a>' in page
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": PENDING}


def test_expired_link_does_not_tell_a_subscriber_of_another_list_they_are_not_subscribed(
    client, make, news, jobs, mail, monkeypatch
):
    """Someone confirmed on News whose link for Jobs expired is still on News, and is told so."""
    make.subscriber("ann@example.com", lists=[news])
    path = confirm_path(client, mail, "ann@example.com", "jobs")
    monkeypatch.setattr(links, "CONFIRM_MAX_AGE", timedelta(seconds=-1))
    page = main_content(open_link(client, path).get_data(as_text=True))
    assert "not subscribed" not in page
    assert "already confirmed are not affected" in page
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": PENDING}


def test_tampered_link_shows_a_clear_page_and_changes_nothing(client, news, mail):
    """A link with its signature altered is refused with a page that links to the form."""
    path = confirm_path(client, mail)
    tampered = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    before = row_counts()
    assert press(client, tampered).status_code == 404
    response = open_link(client, tampered)
    assert response.status_code == 404
    page = main_content(response.get_data(as_text=True))
    assert "<h1>This link does not work</h1>" in page
    assert 'href="/subscribe"' in page
    assert row_counts() == before
    assert statuses("ann@example.com") == {"news": PENDING}


@pytest.mark.parametrize(
    "token",
    ["x", "a.b.c", "eyJzIjoxfQ", "%00", "..", "A" * 5000, "eyJzIjoiMSJ9.aaaa.bbbb"],
)
def test_malformed_token_gets_a_friendly_404(client, news, token):
    """Garbage in the link is a clear 404 page, never an error or a traceback."""
    sign_up(client, "ann@example.com", "news")
    before = row_counts()
    for response in (client.get(f"/confirm/{token}"), client.post(f"/confirm/{token}")):
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "Traceback" not in page
        assert "<h1>" in page
    assert row_counts() == before


def test_preferences_link_does_not_confirm(client, news):
    """Each purpose has its own salt: a preferences token is no confirm token."""
    sign_up(client, "ann@example.com", "news")
    token = preferences_token(person("ann@example.com"))
    assert client.post(f"/confirm/{token}").status_code == 404
    assert statuses("ann@example.com") == {"news": PENDING}


def test_asking_again_for_the_same_lists_within_the_day_mails_once(client, news, jobs, mail):
    """Four sign-ups of one address for lists already named within the day: one mail."""
    for slugs in (["news", "jobs"], ["news"], ["jobs"], ["news", "jobs"]):
        assert sign_up(client, "ann@example.com", *slugs).status_code == 200
    assert len(mail.deliver()) == 1


def test_another_mail_may_follow_after_a_day(client, news, mail):
    """Once 24 hours have passed since the list was named, a new sign-up brings a new mail."""
    confirm_path(client, mail)
    day_ago = utcnow() - timedelta(hours=24, minutes=1)
    subscriber = person("ann@example.com")
    subscriber.confirmation_sent_at = day_ago
    subscriber.subscriptions[0].confirmation_sent_at = day_ago
    db.session.commit()
    sign_up(client, "ann@example.com", "news")
    assert len(mail.deliver()) == 2


def test_a_list_asked_for_later_gets_a_mail_of_its_own(client, news, jobs, mail):
    """Jobs chosen after the News mail went: a second mail names both; each link its own."""
    first = confirm_path(client, mail, "ann@example.com", "news")
    sign_up(client, "ann@example.com", "jobs")
    messages = mail.deliver()
    assert len(messages) == 2
    assert "- News" in messages[1].text() and "- Jobs" in messages[1].text()
    second = link_path(messages[1], "confirm")

    page = main_content(open_link(client, first).get_data(as_text=True))
    assert "<li>News</li>" in page and "Jobs" not in page
    response = press(client, first)
    assert "<li>Jobs</li>" not in main_content(response.get_data(as_text=True)).split("receive")[0]
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": PENDING}
    click(client, second)
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": CONFIRMED}


def test_an_old_link_never_confirms_a_list_asked_for_later(client, news, jobs, mail):
    """Someone adds Jobs for Ann after her mail went: her link still confirms News alone."""
    path = confirm_path(client, mail, "ann@example.com", "news")
    sign_up(client, "ann@example.com", "jobs", ip="198.51.100.66")
    page = click(client, path).get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": PENDING}
    receive, later = page.split("You will now receive:")[1].split("after it was sent:")
    assert "<li>News</li>" in receive and "Jobs" not in receive
    assert "<li>Jobs</li>" in later


def test_the_address_cap_bounds_mails_however_many_lists(client, make, mail):
    """One list after another: mails stop at the daily cap; a list left unnamed waits."""
    slugs = [make.list(f"list{n}", name=f"List {n}").slug for n in range(5)]
    for slug in slugs:
        sign_up(client, "ann@example.com", slug)
        messages = mail.deliver()
    assert len(messages) == CONFIRMATION_MAILS_PER_DAY
    assert "- List 2" in messages[-1].text()
    assert "List 3" not in messages[-1].text()
    assert set(statuses("ann@example.com").values()) == {PENDING}


def test_a_link_from_before_links_named_lists_confirms_what_was_asked_by_then(
    client, news, jobs, mail
):
    """An old link (no lists in it) confirms lists requested before it was made, not after."""
    sign_up(client, "ann@example.com", "news")
    mail.deliver()
    ann = person("ann@example.com")
    # News was asked for two minutes ago and the link mailed a minute later.
    db.session.execute(
        sa.update(ConsentEvent)
        .where(ConsentEvent.subscriber_id == ann.id)
        .values(recorded_at=utcnow() - timedelta(minutes=2))
    )
    db.session.commit()
    a_minute_ago = int(time.time()) - 60
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=a_minute_ago):
        old_token = make_token("confirm", link_payload(ann.id, ann.unsubscribe_token))
    sign_up(client, "ann@example.com", "jobs")
    page = main_content(open_link(client, f"/confirm/{old_token}").get_data(as_text=True))
    assert "<li>News</li>" in page and "Jobs" not in page
    press(client, f"/confirm/{old_token}")
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": PENDING}


@pytest.mark.parametrize("reason", [SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT])
def test_bounced_or_complained_address_never_gets_a_confirmation(client, news, mail, reason):
    """While a blocking reason stands, signing up sends nothing (and the page is the same)."""
    suppression.suppress("ann@example.com", reason)
    db.session.commit()
    response = sign_up(client, "ann@example.com", "news")
    assert response.status_code == 200
    assert mail.deliver() == []
    assert statuses("ann@example.com") == {"news": PENDING}


def leave_every_list(client, make, news, email):
    subscriber = make.subscriber(email, lists=[news])
    response = client.post(
        f"/unsubscribe/{subscriber.unsubscribe_token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "reason",
    [
        SuppressionReason.LEFT_ALL,
        SuppressionReason.ERASED,
        SuppressionReason.IMPORTED_UNSUBSCRIBED,
    ],
)
def test_confirming_lifts_a_suppression_the_person_may_lift(client, make, news, mail, reason):
    """A leaver, an erased or an imported-unsubscribed person is mailed; the click lifts it."""
    if reason == SuppressionReason.LEFT_ALL:
        leave_every_list(client, make, news, "ann@example.com")
    else:
        suppression.suppress("ann@example.com", reason)
        db.session.commit()
    assert suppression.active_reasons("ann@example.com") == {reason}
    path = confirm_path(client, mail)
    click(client, path)
    assert suppression.active_reasons("ann@example.com") == set()
    assert statuses("ann@example.com") == {"news": CONFIRMED}
    [lifted] = [e for e in events("ann@example.com") if e.action == "suppression_lifted"]
    assert lifted.method == ConsentMethod.CONFIRM_LINK
    assert lifted.detail == {"reasons": [reason.value]}


def test_single_opt_in_list_confirms_at_once_without_mail(client, make, mail):
    """No mail for a single-opt-in list; the request and confirmation are both recorded."""
    make.list("open", name="Open letters", double_opt_in=False)
    sign_up(client, "ann@example.com", "open")
    assert statuses("ann@example.com") == {"open": CONFIRMED}
    assert mail.deliver() == []
    recorded = [(e.action, e.method, e.opt_in_level) for e in events("ann@example.com")]
    assert recorded == [
        (ConsentAction.REQUESTED, ConsentMethod.FORM, OptInLevel.SINGLE),
        (ConsentAction.CONFIRMED, ConsentMethod.FORM, OptInLevel.SINGLE),
    ]
    assert all(e.wording_version for e in events("ann@example.com"))


def test_single_opt_in_list_waits_for_the_link_after_leaving(client, make, news, mail):
    """A leaver joining a single-opt-in list must confirm by mail, which lifts left_all."""
    make.list("open", name="Open letters", double_opt_in=False)
    leave_every_list(client, make, news, "ann@example.com")
    path = confirm_path(client, mail, "ann@example.com", "open")
    assert statuses("ann@example.com")["open"] == PENDING
    click(client, path)
    assert statuses("ann@example.com")["open"] == CONFIRMED


def test_confirmed_subscriber_is_asked_about_the_new_list_only(client, make, news, jobs, mail):
    """A subscriber of News who ticks Jobs too gets a mail that names Jobs and not News."""
    make.subscriber("ann@example.com", lists=[news])
    sign_up(client, "ann@example.com", "news", "jobs")
    message = mail.only_message()
    assert "- Jobs" in message.text()
    assert "- News" not in message.text()
    assert "<li>Jobs</li>" in message.html() and "<li>News</li>" not in message.html()
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": PENDING}


def test_signing_up_again_never_downgrades_a_confirmed_subscription(client, make, news, mail):
    """Sending the form for a list already confirmed changes nothing and mails nothing."""
    make.subscriber("ann@example.com", lists=[news])
    before = row_counts()
    sign_up(client, "ann@example.com", "news")
    assert statuses("ann@example.com") == {"news": CONFIRMED}
    assert row_counts() == before
    assert mail.deliver() == []


def test_form_never_overwrites_a_name(client, make, news):
    """Someone else typing the address with another name cannot rename the person."""
    make.subscriber("ann@example.com", lists=[news], name="Ann Lee")
    sign_up(client, "ann@example.com", "news", name="Mallory")
    assert person("ann@example.com").name == "Ann Lee"


# Consent evidence (invariant 3 in docs/architecture.md) recorded by the pages.


def test_request_evidence_has_time_method_page_wording_and_requester(client, news):
    """The sign-up event: UTC time, form, /subscribe, the words shown, IP and user agent."""
    started = utcnow()
    sign_up(client, "ann@example.com", "news", ip="192.0.2.44")
    [event] = events("ann@example.com")
    assert (event.action, event.method) == (ConsentAction.REQUESTED, ConsentMethod.FORM)
    assert event.occurred_at.tzinfo == UTC
    assert started - timedelta(seconds=1) <= event.occurred_at <= utcnow()
    assert event.source == "/subscribe"
    assert (event.ip_address, event.user_agent) == ("192.0.2.44", BROWSER)
    assert event.opt_in_level == OptInLevel.CONFIRMED
    assert event.list_id == news.id


def test_request_evidence_keeps_the_exact_wording_shown(app, client, news, jobs):
    """The wording row holds the visible text of the form as the page shows it."""
    page = main_content(client.get("/subscribe").get_data(as_text=True))
    intro = (
        f"Get news from {app.config['ORG_NAME']} by email. We will send you a link to confirm"
        " your address, and you can leave at any time with the link at the foot of every email."
    )
    assert f"<p>{intro}</p>" in page
    assert "Leave this field empty" in page
    sign_up(client, "ann@example.com", "news")
    [event] = events("ann@example.com")
    wording = db.session.get(ConsentWording, event.wording_version).text
    lines = wording.splitlines()
    assert lines[:2] == ["Sign up for our newsletters", intro]
    for mailing_list in (news, jobs):
        at = lines.index(mailing_list.name)
        assert lines[at + 1] == mailing_list.description
    assert "Read our privacy notice to find out how we use your details." in wording
    assert lines[-1] == "Sign up"
    assert "Leave this field empty" not in wording  # the honeypot is hidden from people


def test_recording_the_wording_leaves_the_session_alone(client, news):
    """Rendering the form for the evidence inside the POST starts no session (no CSRF token)."""
    response = sign_up(client, "ann@example.com", "news")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_changed_form_text_is_a_new_wording_version(client, news, jobs):
    """Editing what the form shows (here a list's description) records a new version."""
    sign_up(client, "ann@example.com", "news")
    jobs.description = "Vacancies, every Monday."
    db.session.commit()
    sign_up(client, "bob@example.com", "news")
    first, second = events("ann@example.com")[0], events("bob@example.com")[0]
    assert first.wording_version != second.wording_version
    assert "Vacancies, every Monday." in db.session.get(ConsentWording, second.wording_version).text


def test_same_form_text_is_one_wording_version(client, news):
    """Two people who saw the same form share one wording row."""
    sign_up(client, "ann@example.com", "news")
    sign_up(client, "bob@example.com", "news")
    first, second = events("ann@example.com")[0], events("bob@example.com")[0]
    assert first.wording_version == second.wording_version
    assert row_counts()["subscriber"] == 2


def test_confirmation_evidence_records_the_click(client, news, mail):
    """The confirm event: confirm_link, the link's page, the clicker's IP and agent."""
    path = confirm_path(client, mail)
    click(client, path, ip="203.0.113.9")
    event = events("ann@example.com")[-1]
    assert (event.action, event.method) == (ConsentAction.CONFIRMED, ConsentMethod.CONFIRM_LINK)
    assert (event.ip_address, event.user_agent) == ("203.0.113.9", BROWSER)
    assert event.opt_in_level == OptInLevel.CONFIRMED
    assert event.occurred_at.tzinfo == UTC
    assert event.source.startswith("/confirm")


def test_confirmation_evidence_keeps_the_words_on_the_page_pressed(client, news, jobs, mail):
    """The confirm event names a wording: the page's text, its lists and its button."""
    path = confirm_path(client, mail, "ann@example.com", "news", "jobs")
    click(client, path)
    confirmed = [e for e in events("ann@example.com") if e.action == ConsentAction.CONFIRMED]
    assert len(confirmed) == 2 and len({e.wording_version for e in confirmed}) == 1
    wording = db.session.get(ConsentWording, confirmed[0].wording_version).text
    assert wording.splitlines() == [
        "Confirm your subscription",
        "Someone, probably you, asked for this address to receive:",
        "News",
        "Jobs",
        "Press the button to confirm. Nothing happens until you do.",
        "Confirm my subscription",
        "If you did not ask, close this page: you will not be subscribed and we will not write"
        " again.",
    ]


def test_evidence_source_holds_the_page_not_the_link_secret(client, news, mail):
    """The page is recorded as its route; the token (a credential) stays out of the record."""
    path = confirm_path(client, mail)
    click(client, path)
    token = path.rsplit("/", 1)[1]
    assert all(token not in (e.source or "") for e in events("ann@example.com"))
    assert events("ann@example.com")[-1].source == "/confirm/<token>"


def test_resubscribing_by_the_link_is_recorded_as_such(client, make, news, mail):
    """A leaver who confirms again gets a resubscribed event, not a plain confirmation."""
    leave_every_list(client, make, news, "ann@example.com")
    click(client, confirm_path(client, mail))
    event = events("ann@example.com")[-1]
    assert (event.action, event.method) == (
        ConsentAction.RESUBSCRIBED,
        ConsentMethod.CONFIRM_LINK,
    )
    assert event.ip_address == "203.0.113.5"


class TestWithoutRequestDetails:
    """With CONSENT_RECORD_REQUEST_DETAILS off, no IP address or user agent is kept."""

    @pytest.fixture
    def config_overrides(self):
        return {"CONSENT_RECORD_REQUEST_DETAILS": False}

    def test_request_and_confirmation_keep_no_ip_or_agent(self, client, news, mail):
        """Both events are recorded, with page and method, but no IP address or user agent."""
        click(client, confirm_path(client, mail))
        recorded = events("ann@example.com")
        assert [e.action for e in recorded] == [ConsentAction.REQUESTED, ConsentAction.CONFIRMED]
        assert [(e.ip_address, e.user_agent) for e in recorded] == [(None, None)] * 2
        assert [e.source for e in recorded] == ["/subscribe", "/confirm/<token>"]


def test_a_confirmation_request_for_a_private_list_dies_when_an_admin_removes_them(client, make):
    """An import's request to confirm a private list confirms nothing once an admin has taken
    the person off that list: their own link cannot put them back."""
    board = make.list("board", name="Board papers", is_public=False)
    cara = make.subscriber("cara@example.com", lists=[board], status="pending")
    path = f"/confirm/{links.confirmation_token(cara, [board.id])}"
    unsubscribe_by_admin(cara, Origin(source="test"), make.account(), {board.id})
    before = row_counts()
    assert press(client, path).status_code == 410
    assert row_counts() == before
    assert statuses("cara@example.com") == {"board": SubscriptionStatus.UNSUBSCRIBED}
