"""System mail to subscribers, as it arrives at a real SMTP server: confirmation, preferences."""

import base64
import json
from email.utils import getaddresses

import pytest

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import SuppressionReason
from newsletter.subscriptions.mail import send_confirmation, send_preferences_link
from tests.support.subscribing import BASE_URL, link_path, person, sign_up

ORG_NAME = "Local Digital Coalition"
SYSTEM_FROM = "Local Digital Coalition <noreply@news.example.org>"


@pytest.fixture
def config_overrides():
    return {
        "ORG_NAME": ORG_NAME,
        "ORG_ADDRESS": "1 High Street, Leeds",
        "MAIL_FROM": "Local Digital Coalition <news@news.example.org>",
        "MAIL_FROM_SYSTEM": SYSTEM_FROM,
    }


@pytest.fixture
def confirmation(client, news, jobs, mail):
    """The confirmation mail for a sign-up to News and Jobs, as received."""
    assert sign_up(client, "ann@example.com", "news", "jobs", name="Ann").status_code == 200
    return mail.only_message()


def test_confirmation_comes_from_the_system_address(confirmation):
    """From is MAIL_FROM_SYSTEM, and so is the envelope sender."""
    assert confirmation["From"] == SYSTEM_FROM
    assert confirmation.mail_from == "noreply@news.example.org"


def test_confirmation_goes_to_the_person_by_name(confirmation):
    """To names the person and their address; the envelope has that one recipient."""
    assert getaddresses([confirmation["To"]]) == [("Ann", "ann@example.com")]
    assert confirmation.rcpt_tos == ["ann@example.com"]


def test_confirmation_is_marked_automatic(confirmation):
    """Auto-Submitted tells auto-responders not to answer (RFC 3834)."""
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation["Message-ID"].endswith("@news.example.org>")
    assert confirmation["Date"]


def test_confirmation_has_no_one_click_unsubscribe(confirmation):
    """It is not a newsletter: no List-Unsubscribe-Post (a click must not be needed to stop)."""
    assert confirmation["List-Unsubscribe-Post"] is None
    assert confirmation["List-Unsubscribe"] is None


def test_confirmation_says_who_is_asking(confirmation):
    """The subject and both parts name the organisation; the footer gives its address."""
    assert confirmation["Subject"] == f"Confirm your subscription to {ORG_NAME}"
    for body in (confirmation.text(), confirmation.html()):
        assert ORG_NAME in body
        assert "Someone, probably you, asked for this address to receive" in body
        assert "1 High Street, Leeds" in body


def test_confirmation_names_every_pending_list(confirmation):
    """Both parts list the newsletters asked for."""
    assert "- News" in confirmation.text() and "- Jobs" in confirmation.text()
    assert "<li>News</li>" in confirmation.html() and "<li>Jobs</li>" in confirmation.html()


def test_confirmation_says_ignoring_it_does_nothing(confirmation):
    """Someone who did not ask learns that doing nothing is enough."""
    for body in (confirmation.text(), confirmation.html()):
        assert "If you did not ask, ignore this email: nothing will happen" in body


def test_confirmation_says_the_link_lasts_72_hours(confirmation):
    """The reader knows how long they have."""
    assert "it works for 72 hours" in confirmation.text()
    assert "The link works for 72 hours." in confirmation.html()


def test_confirmation_says_a_button_on_the_page_confirms(confirmation):
    """Opening the link alone confirms nothing, and the mail says so."""
    assert "open this link and press the button on the page" in confirmation.text()
    assert "opens a page where you press a button to confirm" in confirmation.html()


def test_confirmation_link_is_absolute_and_the_same_in_both_parts(confirmation):
    """One link, under BASE_URL, in the text and as the HTML button."""
    path = link_path(confirmation, "confirm")
    assert f'href="{BASE_URL}{path}"' in confirmation.html()


def test_confirmation_link_carries_no_address(confirmation):
    """Tokens carry ids, never addresses (not even encoded)."""
    token = link_path(confirmation, "confirm").rsplit("/", 1)[1]
    payload = token.split(".")[0]  # Not compressed: a leading "." would say so.
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    ann = person("ann@example.com")
    lists = sorted(s.list_id for s in ann.subscriptions)
    assert decoded == {"s": ann.id, "v": decoded["v"], "l": lists, "t": decoded["t"]}
    assert "@" not in decoded["v"] and isinstance(decoded["t"], int)


def test_confirmation_link_confirms(client, confirmation):
    """The link in the mail opens a page whose button confirms both lists."""
    path = link_path(confirmation, "confirm")
    assert client.get(path).status_code == 200
    assert {s.status for s in person("ann@example.com").subscriptions} == {"pending"}
    assert client.post(path).status_code == 200
    assert {s.status for s in person("ann@example.com").subscriptions} == {"confirmed"}


def test_confirmation_is_multipart_alternative(confirmation):
    """A plain-text part and an HTML part."""
    assert confirmation.message.get_content_type() == "multipart/alternative"
    assert confirmation.text() and confirmation.html().startswith("<!doctype html>")


def test_a_name_cannot_add_recipients(client, news, mail):
    """Commas and angle brackets in a name stay inside the quoted display name."""
    sign_up(client, "ann@example.com", "news", name="Eve <evil@example.com>, Bcc: x@example.net")
    message = mail.only_message()
    assert [address for _, address in getaddresses([message["To"]])] == ["ann@example.com"]
    assert message["Bcc"] is None
    assert message.rcpt_tos == ["ann@example.com"]


def test_a_name_in_any_script_survives(client, news, mail):
    """A non-ASCII name is encoded so that it reads back the same."""
    sign_up(client, "zoe@example.com", "news", name="Zoë Åkesson-Ōta")
    message = mail.only_message()
    assert getaddresses([message["To"]]) == [("Zoë Åkesson-Ōta", "zoe@example.com")]


def test_nothing_is_sent_once_nothing_is_pending(client, make, news, smtp_sink):
    """A person with no pending list (confirmed in the meantime) gets no mail."""
    subscriber = make.subscriber("ann@example.com", lists=[news])
    assert send_confirmation(subscriber.id) is False
    assert smtp_sink.messages == []


def test_nothing_is_sent_to_an_address_that_bounced_meanwhile(client, news, smtp_sink):
    """A hard bounce recorded after the sign-up stops the mail."""
    sign_up(client, "ann@example.com", "news")
    suppression.suppress("ann@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    assert send_confirmation(person("ann@example.com").id) is False
    assert smtp_sink.messages == []


def test_nothing_is_sent_for_a_person_who_is_gone(app, smtp_sink):
    """An id that matches nobody (erased, purged) is not an error."""
    assert send_confirmation(987654) is False
    assert send_preferences_link(987654) is False
    assert smtp_sink.messages == []


def test_preferences_link_mail(client, make, news, smtp_sink):
    """The fresh-link mail: system sender, automatic, and a link that opens the page."""
    subscriber = make.subscriber("ann@example.com", lists=[news])
    assert send_preferences_link(subscriber.id) is True
    [message] = smtp_sink.wait_for(1)
    assert message["From"] == SYSTEM_FROM
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] is None
    assert message["Subject"] == f"Your {ORG_NAME} newsletter preferences"
    assert "it works for 90 days" in message.text()
    assert client.get(link_path(message, "preferences")).status_code == 200


def test_preferences_link_is_not_sent_to_a_blocked_address(make, news, smtp_sink):
    """A complaint stops even a preferences link."""
    subscriber = make.subscriber("ann@example.com", lists=[news])
    suppression.suppress("ann@example.com", SuppressionReason.COMPLAINT)
    db.session.commit()
    assert send_preferences_link(subscriber.id) is False
    assert smtp_sink.messages == []
