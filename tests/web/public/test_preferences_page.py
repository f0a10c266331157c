"""The preferences page: see and change lists and name, leave everything, renew an old link."""

import re
import time
import types
from datetime import timedelta

import itsdangerous.timed
import pytest

from newsletter import suppression
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.subscriptions import links
from newsletter.subscriptions.links import confirmation_token, preferences_token
from newsletter.subscriptions.preferences import update_preferences
from newsletter.subscriptions.unsubscribe import unsubscribe_by_admin
from tests.support.html import element, elements, main_content
from tests.support.subscribing import events, link_path, person, row_counts, statuses

CONFIRMED = SubscriptionStatus.CONFIRMED
UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED


@pytest.fixture
def ann(make, news):
    """A person confirmed on News, with a name."""
    return make.subscriber("ann@example.com", lists=[news], name="Ann")


def page_of(subscriber) -> str:
    return f"/preferences/{preferences_token(subscriber)}"


def save(client, path, lists, name="Ann"):
    return client.post(path, data={"lists": lists, "name": name})


def expire_preferences_links(monkeypatch) -> None:
    monkeypatch.setattr(links, "PREFERENCES_MAX_AGE", timedelta(seconds=-1))


def link_from_91_days_ago(subscriber, monkeypatch) -> str:
    """A genuine preferences link signed 91 days ago (past its 90 days)."""
    long_ago = time.time() - 91 * 86400
    monkeypatch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: long_ago))
    path = page_of(subscriber)
    monkeypatch.undo()
    return path


def test_page_shows_the_lists_and_ticks_those_confirmed(client, ann, jobs):
    """Every public list has a box; only the ones the person gets are ticked."""
    response = client.get(page_of(ann))
    assert response.status_code == 200
    page = main_content(response.get_data(as_text=True))
    assert "ann@example.com" in page
    boxes = {box["value"]: box for box in elements(page, "input", type="checkbox")}
    assert set(boxes) == {"news", "jobs"}
    assert "checked" in boxes["news"] and "checked" not in boxes["jobs"]
    assert element(page, "input", name="name")["value"] == "Ann"


def test_page_shows_a_private_list_only_to_its_members(client, make, news, ann):
    """A private list appears for someone on it, and not for anyone else."""
    board = make.list("board", name="Board papers", is_public=False)
    member = make.subscriber("bob@example.com", lists=[news, board])
    assert "Board papers" in client.get(page_of(member)).get_data(as_text=True)
    assert "Board papers" not in client.get(page_of(ann)).get_data(as_text=True)


def test_joining_a_list_confirms_at_once_without_mail(client, ann, jobs, mail):
    """The signed link proves the inbox: Jobs is confirmed, no mail, method preferences."""
    response = save(client, page_of(ann), ["news", "jobs"])
    assert response.status_code == 200
    assert "Preferences saved" in response.get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": CONFIRMED, "jobs": CONFIRMED}
    assert mail.deliver() == []
    [joined] = events("ann@example.com")
    assert (joined.action, joined.method, joined.list_id) == (
        ConsentAction.CONFIRMED,
        ConsentMethod.PREFERENCES,
        jobs.id,
    )
    assert joined.source == "/preferences/<token>"


def test_leaving_one_list_keeps_the_others(client, make, news, jobs):
    """Clearing one box unsubscribes from that list only; the address stays mailable."""
    bob = make.subscriber("bob@example.com", lists=[news, jobs])
    save(client, page_of(bob), ["jobs"], name="")
    assert statuses("bob@example.com") == {"news": UNSUBSCRIBED, "jobs": CONFIRMED}
    assert suppression.active_reasons("bob@example.com") == set()


def test_clearing_every_box_unsubscribes_from_everything(client, ann):
    """No list ticked means no mail at all: unsubscribed and suppressed as left_all."""
    response = save(client, page_of(ann), [])
    assert "You will not receive any of our newsletters" in response.get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": UNSUBSCRIBED}
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.LEFT_ALL}
    [left] = events("ann@example.com")
    assert (left.action, left.method) == (ConsentAction.UNSUBSCRIBED, ConsentMethod.PREFERENCES)


def test_changing_the_name_is_saved_and_recorded(client, ann):
    """A new name is stored, with a preferences_changed event naming the field."""
    save(client, page_of(ann), ["news"], name="  Ann Lee ")
    assert person("ann@example.com").name == "Ann Lee"
    [changed] = events("ann@example.com")
    assert changed.action == ConsentAction.PREFERENCES_CHANGED
    assert changed.detail == {"changed": ["name"]}


def test_saving_unchanged_preferences_records_nothing(client, ann):
    """Pressing save without changing anything writes no event."""
    before = row_counts()
    save(client, page_of(ann), ["news"])
    assert row_counts() == before


def test_rejoining_after_leaving_lifts_left_all(client, ann):
    """A leaver who ticks a list again from the link is back, and left_all is lifted."""
    path = page_of(ann)
    save(client, path, [])
    save(client, path, ["news"])
    assert statuses("ann@example.com") == {"news": CONFIRMED}
    assert suppression.active_reasons("ann@example.com") == set()
    actions = [e.action for e in events("ann@example.com")]
    assert actions[-2:] == [ConsentAction.SUPPRESSION_LIFTED, ConsentAction.RESUBSCRIBED]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"lists": ["news"], "name": "Ann\r\nBcc: evil@example.com"}, "line breaks"),
        ({"lists": ["news"], "name": "A" * 201}, "200 characters or fewer"),
        ({"lists": ["no-such-list"], "name": "Ann"}, "Select newsletters from the list shown"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, ann, data, message):
    """A 400 page with the error summary; the person's rows stay as they were."""
    before = row_counts()
    response = client.post(page_of(ann), data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert row_counts() == before
    assert person("ann@example.com").name == "Ann"


def test_private_list_cannot_be_joined_by_its_slug(client, make, ann):
    """A private list the person is not on is not on offer, even when posted."""
    make.list("board", name="Board papers", is_public=False)
    response = save(client, page_of(ann), ["news", "board"])
    assert response.status_code == 400
    assert statuses("ann@example.com") == {"news": CONFIRMED}


@pytest.fixture
def board(make):
    return make.list("board", name="Board papers", is_public=False)


def remove_by_admin(make, subscriber, mailing_list) -> None:
    """An admin takes the person off one list by hand, as the subscriber page does."""
    unsubscribe_by_admin(subscriber, Origin(source="test"), make.account(), {mailing_list.id})


def test_removed_from_a_private_list_it_is_no_longer_offered(client, make, news, board):
    """Once an admin has taken someone off a private list, their own page does not show it."""
    bob = make.subscriber("bob@example.com", lists=[news, board])
    remove_by_admin(make, bob, board)
    page = main_content(client.get(page_of(bob)).get_data(as_text=True))
    assert "Board papers" not in page
    assert {box["value"] for box in elements(page, "input", type="checkbox")} == {"news"}


def test_removed_from_a_private_list_a_forged_form_cannot_rejoin_it(client, make, news, board):
    """Posting the private list's slug is refused and changes nothing."""
    bob = make.subscriber("bob@example.com", lists=[news, board])
    remove_by_admin(make, bob, board)
    before = row_counts()
    response = save(client, page_of(bob), ["news", "board"], name="")
    assert response.status_code == 400
    assert "Select newsletters from the list shown" in response.get_data(as_text=True)
    assert row_counts() == before
    assert statuses("bob@example.com") == {"news": CONFIRMED, "board": UNSUBSCRIBED}


def test_the_save_itself_ignores_a_private_list_not_offered(make, news, board):
    """The rule holds below the form too: update_preferences never joins a list not offered."""
    bob = make.subscriber("bob@example.com", lists=[news, board])
    remove_by_admin(make, bob, board)
    joined, left = update_preferences(bob, {news.id, board.id}, "", Origin(source="test"))
    assert (joined, left) == ([], [])
    assert statuses("bob@example.com") == {"news": CONFIRMED, "board": UNSUBSCRIBED}


def test_leaving_a_private_list_by_the_link_is_for_good(client, make, news, board):
    """Someone who clears a private list's box is off it, and the page then stops offering it."""
    bob = make.subscriber("bob@example.com", lists=[news, board])
    path = page_of(bob)
    save(client, path, ["news"], name="")
    assert statuses("bob@example.com") == {"news": CONFIRMED, "board": UNSUBSCRIBED}
    assert "Board papers" not in client.get(path).get_data(as_text=True)
    assert save(client, path, ["news", "board"], name="").status_code == 400
    assert statuses("bob@example.com") == {"news": CONFIRMED, "board": UNSUBSCRIBED}


def test_pending_on_a_private_list_it_is_offered_and_may_be_confirmed(client, make, board):
    """Someone an import left pending on a private list sees it, and ticking it confirms it."""
    cara = make.subscriber("cara@example.com", lists=[board], status="pending")
    page = main_content(client.get(page_of(cara)).get_data(as_text=True))
    assert "Board papers" in page
    save(client, page_of(cara), ["board"], name="")
    assert statuses("cara@example.com") == {"board": CONFIRMED}


def test_the_unsubscribe_page_leads_back_only_to_what_may_be_joined(client, make, news, board):
    """The "changed your mind" link after leaving a private list does not offer it again."""
    bob = make.subscriber("bob@example.com", lists=[news, board])
    left = client.post(f"/unsubscribe/{bob.unsubscribe_token}")
    assert statuses("bob@example.com") == {"news": UNSUBSCRIBED, "board": UNSUBSCRIBED}
    [again] = [
        a["href"]
        for a in elements(main_content(left.get_data(as_text=True)), "a")
        if "/preferences/" in a.get("href", "")
    ]
    page = main_content(client.get(again).get_data(as_text=True))
    assert {box["value"] for box in elements(page, "input", type="checkbox")} == {"news"}


@pytest.mark.parametrize("token", ["x", "a.b.c", "A" * 3000, "eyJzIjoxfQ.aaa.bbb"])
def test_malformed_token_gets_a_friendly_404(client, ann, token):
    """Garbage in the link is a clear page, not an error."""
    response = client.get(f"/preferences/{token}")
    assert response.status_code == 404
    assert "<h1>This link does not work</h1>" in response.get_data(as_text=True)


def test_tampered_token_gets_the_404_page_and_changes_nothing(client, ann):
    """A token with its signature altered opens nothing and saves nothing."""
    path = page_of(ann)
    tampered = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    before = row_counts()
    assert client.get(tampered).status_code == 404
    assert save(client, tampered, []).status_code == 404
    assert row_counts() == before


def test_confirm_token_does_not_open_preferences(client, ann):
    """Each purpose has its own salt: a confirm token is no preferences token."""
    token = confirmation_token(ann, [s.list_id for s in ann.subscriptions])
    assert client.get(f"/preferences/{token}").status_code == 404


def test_expired_link_offers_a_fresh_one(client, ann, monkeypatch):
    """An old link shows a page with a button that posts to the renewal address."""
    path = page_of(ann)
    expire_preferences_links(monkeypatch)
    response = client.get(path)
    assert response.status_code == 410
    page = main_content(response.get_data(as_text=True))
    assert "<h1>This link has expired</h1>" in page
    form = element(page, "form", method="post")
    assert form["action"] == f"{path}/renew"
    assert ">Email me a new link</button>" in page


def test_expired_link_changes_nothing(client, ann, monkeypatch):
    """Saving through an old link is refused."""
    path = page_of(ann)
    expire_preferences_links(monkeypatch)
    before = row_counts()
    assert save(client, path, []).status_code == 410
    assert row_counts() == before


def test_renewal_mails_a_working_new_link(client, ann, mail, monkeypatch):
    """The button enqueues send_preferences_link; the mail's fresh link opens the page."""
    old = link_from_91_days_ago(ann, monkeypatch)
    assert client.get(old).status_code == 410
    response = client.post(f"{old}/renew")
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    message = mail.only_message()
    assert message.rcpt_tos == ["ann@example.com"]
    page = client.get(link_path(message, "preferences"))
    assert page.status_code == 200
    assert "Your newsletter preferences" in page.get_data(as_text=True)


def test_renewal_of_a_link_still_valid_is_refused(client, ann, mail):
    """Only an expired link may ask for a new one."""
    assert client.post(f"{page_of(ann)}/renew").status_code == 404
    assert mail.deliver() == []


def test_renewal_of_a_tampered_link_mails_nobody(client, ann, mail, monkeypatch):
    """A forged link cannot make us mail anyone."""
    path = page_of(ann)
    expire_preferences_links(monkeypatch)
    assert client.post(f"{path[:-3]}xyz/renew").status_code == 404
    assert mail.deliver() == []


def test_renewal_for_a_bounced_address_mails_nothing(client, ann, mail, monkeypatch):
    """While a blocking suppression stands, not even a preferences link is sent."""
    suppression.suppress("ann@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    path = page_of(ann)
    expire_preferences_links(monkeypatch)
    assert client.post(f"{path}/renew").status_code == 200
    assert mail.deliver() == []


class TestWithCsrfOn:
    """The preferences forms carry their CSRF token, as in production."""

    @pytest.fixture
    def config_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def token_on(self, page: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def test_saving_without_the_token_is_refused(self, client, ann):
        """A forged POST changes nothing."""
        before = row_counts()
        assert save(client, page_of(ann), []).status_code == 400
        assert row_counts() == before

    def test_saving_with_the_pages_token_works(self, client, ann, jobs):
        """The form as served saves."""
        path = page_of(ann)
        token = self.token_on(client.get(path).get_data(as_text=True))
        response = client.post(path, data={"lists": ["jobs"], "name": "Ann", "csrf_token": token})
        assert response.status_code == 200
        assert statuses("ann@example.com") == {"news": UNSUBSCRIBED, "jobs": CONFIRMED}

    def test_renewal_button_works_as_served(self, client, ann, mail, monkeypatch):
        """The expired page's form has what it needs to send a fresh link."""
        path = page_of(ann)
        expire_preferences_links(monkeypatch)
        token = self.token_on(client.get(path).get_data(as_text=True))
        assert client.post(f"{path}/renew", data={"csrf_token": token}).status_code == 200
        assert len(mail.deliver()) == 1


def test_a_post_without_the_name_field_keeps_the_stored_name(client, make):
    """Only an empty name field clears the name; a client that omits the field changes nothing."""
    news = make.list("keep-name", name="Keep")
    person = make.subscriber("named@example.com", lists=[news], name="Nia")
    token = preferences_token(person)
    response = client.post(f"/preferences/{token}", data={"lists": ["keep-name"]})
    assert response.status_code == 200
    db.session.refresh(person)
    assert person.name == "Nia"
