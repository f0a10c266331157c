"""A list's welcome message: sent once per person through the delivery engine's real path."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.background import enqueue
from newsletter.background.enqueue import QUEUE_DELIVERY, QUEUE_SYSTEM
from newsletter.compose.issues import update_issue
from newsletter.consent import Origin, record_consent
from newsletter.delivery.ledger import enqueue_batches
from newsletter.delivery.sweep import sweep
from newsletter.delivery.welcome import (
    create_welcome,
    queue_due,
    queue_welcomes,
    turn_off,
    turn_on,
)
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    Delivery,
    Issue,
    IssueStatus,
    SuppressionReason,
)
from newsletter.subscriptions.confirmation import join
from newsletter.subscriptions.unsubscribe import unsubscribe_by_admin
from tests.factories import statuses
from tests.support.subscribing import BROWSER, link_path, person, sign_up

BODY = "Hello {{ subscriber.name }}, welcome to {{ list.name }}.\n"


def welcome_for(mailing_list, subject="Welcome, {{ subscriber.name }}", body=BODY) -> Issue:
    """The list's welcome message with this subject and body, turned on."""
    issue = create_welcome(mailing_list, "test")
    update_issue(issue, subject, body, [mailing_list.slug], actor="test")
    turn_on(issue, "test")
    return issue


class Path:
    """The real path: the stub broker's worker threads, SMTP to the aiosmtpd sink."""

    def __init__(self, broker, worker, sink) -> None:
        self.broker, self.worker, self.sink = broker, worker, sink

    def run(self) -> list:
        """Run everything queued (system mail, welcome nudges, then batches); all mail so far."""
        for _ in range(3):
            self.broker.join(QUEUE_SYSTEM)
            self.broker.join(QUEUE_DELIVERY)
            self.worker.join()
        return list(self.sink.messages)

    def welcomes(self) -> list:
        return [m for m in self.run() if "/confirm/" not in m.text()]


@pytest.fixture
def path(stub_broker, stub_worker, smtp_sink) -> Path:
    return Path(stub_broker, stub_worker, smtp_sink)


def confirm_by_link(client, path: Path, address: str, *slugs: str, name: str = "") -> str:
    """Sign up through the form and press the button of the link in the mail that comes."""
    before = len(path.sink.messages)
    assert sign_up(client, address, *slugs, name=name).status_code == 200
    messages = path.run()[before:]
    confirm = [m for m in messages if "/confirm/" in m.text()]
    assert len(confirm) == 1, messages
    link = link_path(confirm[0], "confirm")
    press(client, link)
    return link


def press(client, link: str) -> None:
    response = client.post(
        link, environ_base={"REMOTE_ADDR": "203.0.113.5"}, headers={"User-Agent": BROWSER}
    )
    assert response.status_code == 200


def test_confirming_by_the_link_sends_one_welcome_with_list_headers(app, client, news, path):
    """One welcome, from MAIL_FROM, with List-Id, List-Unsubscribe, one-click and a VERP path."""
    welcome_for(news)
    confirm_by_link(client, path, "ann@example.com", "news", name="Ann")
    welcomes = path.welcomes()
    assert len(welcomes) == 1
    message = welcomes[0]
    assert message.rcpt_tos == ["ann@example.com"]
    assert message["Subject"] == "Welcome, Ann"
    assert "Hello Ann, welcome to News." in message.text()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://localhost/")
    assert "news" in message["List-Id"]
    assert message.mail_from.startswith("bounces+")
    assert message.mail_from != app.config["MAIL_FROM"]
    [row] = db.session.scalars(sa.select(Delivery)).all()
    assert (row.email, row.status.value) == ("ann@example.com", "sent")


def test_one_click_in_the_welcome_unsubscribes(app, client, news, path):
    """The POST RFC 8058 describes, to the welcome's List-Unsubscribe URL, leaves the list."""
    welcome_for(news)
    confirm_by_link(client, path, "ann@example.com", "news")
    [message] = path.welcomes()
    url = message["List-Unsubscribe"].split(",")[0].strip("<>").removeprefix("http://localhost")
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert {s.status.value for s in person("ann@example.com").subscriptions} == {"unsubscribed"}


def test_pressing_again_or_rejoining_later_sends_no_second_welcome(app, client, news, path):
    """Once ever per person and list: pressing again, or leaving and rejoining, mails none."""
    welcome_for(news)
    link = confirm_by_link(client, path, "ann@example.com", "news")
    assert len(path.welcomes()) == 1
    press(client, link)
    assert len(path.welcomes()) == 1
    ann = person("ann@example.com")
    unsubscribe_by_admin(ann, Origin(source="test"), "test", {news.id})
    db.session.commit()
    # Rejoins from a preferences link: a `resubscribed` event, as any later confirmation.
    join(person("ann@example.com").subscriptions[0], ConsentMethod.PREFERENCES, Origin("test"))
    db.session.commit()
    assert {s.status.value for s in person("ann@example.com").subscriptions} == {"confirmed"}
    queue_due()
    assert len(path.welcomes()) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 1


def test_single_opt_in_sign_up_is_welcomed_at_once(app, client, make, path):
    """A single-opt-in list confirms at sign-up: the welcome is the only mail."""
    open_list = make.list("open", name="Open door", double_opt_in=False)
    welcome_for(open_list)
    assert sign_up(client, "bo@example.com", "open", name="Bo").status_code == 200
    messages = path.run()
    assert [m.rcpt_tos for m in messages] == [["bo@example.com"]]
    assert messages[0]["Subject"] == "Welcome, Bo"


def test_nobody_confirmed_before_it_was_turned_on_gets_it(app, client, make, news, path):
    """Turning it on welcomes people from then on, not the list's existing readers."""
    make.subscriber(email="old@example.com", lists=[news])
    welcome_for(news)
    queue_due()
    assert path.welcomes() == []


def test_a_welcome_that_is_off_sends_nothing(app, client, news, path):
    """Off: confirmations go on, no welcome is written or sent."""
    issue = welcome_for(news)
    turn_off(issue, "test")
    confirm_by_link(client, path, "ann@example.com", "news")
    queue_due()
    assert path.welcomes() == []
    assert db.session.get(Issue, issue.id).status == IssueStatus.PAUSED


def test_the_sweep_welcomes_when_the_nudge_was_lost(app, client, news, path, monkeypatch):
    """A confirmation whose queue message is lost is welcomed by the sweep's next pass."""
    welcome_for(news)
    monkeypatch.setattr(enqueue, "queue_welcomes", lambda list_id: None)  # lost with Redis
    confirm_by_link(client, path, "ann@example.com", "news")
    assert path.welcomes() == []
    sweep()
    assert [m.rcpt_tos for m in path.welcomes()] == [["ann@example.com"]]
    queue_due()
    assert len(path.welcomes()) == 1


def test_suppressed_or_unsubscribed_before_sending_get_nothing(app, news, path):
    """Rows written but not yet sent are skipped when the person left or was suppressed."""
    issue = welcome_for(news)
    for address in ("gone@example.com", "blocked@example.com", "kept@example.com"):
        make_joined(address, news)
    assert queue_welcomes(db.session.get(Issue, issue.id)) == 3
    unsubscribe_by_admin(person("gone@example.com"), Origin(source="test"), "test", {news.id})
    suppression.suppress("blocked@example.com", SuppressionReason.MANUAL, "asked by phone")
    db.session.commit()
    enqueue_batches(db.session.get(Issue, issue.id))
    assert [m.rcpt_tos for m in path.welcomes()] == [["kept@example.com"]]
    found = statuses(db.session.get(Issue, issue.id))
    assert found == {
        "gone@example.com": "skipped", "blocked@example.com": "skipped", "kept@example.com": "sent"
    }  # fmt: skip


def test_a_refused_recipient_fails_alone(app, client, news, path, smtp_sink):
    """The relay refusing one person fails their row; the others are welcomed."""
    welcome_for(news)
    confirm_by_link(client, path, "bad@example.com", "news")
    smtp_sink.refuse["bad@example.com"] = "550 5.7.1 Refused by policy"
    confirm_by_link(client, path, "good@example.com", "news")
    assert [m.rcpt_tos for m in path.welcomes()] == [["good@example.com"]]
    issue = db.session.scalar(sa.select(Issue).where(Issue.welcome_list_id == news.id))
    found = statuses(issue)
    assert found == {"bad@example.com": "failed", "good@example.com": "sent"}
    assert db.session.get(Issue, issue.id).status == IssueStatus.SENDING  # still on


def test_international_address_and_unicode_name(app, client, news, path):
    """An SMTPUTF8 local part on an IDN domain, and a name in any script, fill the placeholders."""
    welcome_for(news)
    confirm_by_link(client, path, "zoë@bücher.example", "news", name="Zoë 王")
    [message] = path.welcomes()
    assert message.rcpt_tos == ["zoë@bücher.example"]
    assert "SMTPUTF8" in message.mail_options
    assert message["Subject"] == "Welcome, Zoë 王"
    assert "Hello Zoë 王, welcome to News." in message.text()


def test_a_relay_without_smtputf8_fails_only_that_person(app, client, news, stub_broker,
                                                         stub_worker, ascii_sink):  # fmt: skip
    """Over an ASCII-only relay an IDN domain goes as its A-label; a UTF-8 local part fails
    its row alone with the reason, and the next person is welcomed."""
    issue = welcome_for(news)
    for address in ("zoë@bücher.example", "ann@bücher.example"):
        make_joined(address, news)
    queue_due()
    Path(stub_broker, stub_worker, ascii_sink).run()
    assert ascii_sink.recipients() == ["ann@xn--bcher-kva.example"]
    found = statuses(db.session.get(Issue, issue.id))
    assert found == {"zoë@bücher.example": "failed", "ann@bücher.example": "sent"}


def make_joined(address: str, mailing_list) -> None:
    """A person confirmed on the list with the event a confirmation link writes."""
    from newsletter.addresses import parse_address
    from newsletter.models import OptInLevel, Subscriber, Subscription, SubscriptionStatus
    from newsletter.suppression import address_hash

    parsed = parse_address(address)
    subscriber = Subscriber(
        email=parsed.email, email_key=parsed.key, key_hash=address_hash(parsed.key), name=""
    )
    subscriber.subscriptions.append(Subscription(
        list_id=mailing_list.id, status=SubscriptionStatus.CONFIRMED,
        opt_in_level=OptInLevel.CONFIRMED,
    ))  # fmt: skip
    db.session.add(subscriber)
    db.session.flush()
    record_consent(subscriber, ConsentAction.CONFIRMED, ConsentMethod.CONFIRM_LINK,
                   Origin(source="test"), list_id=mailing_list.id)  # fmt: skip
    db.session.commit()


def test_through_a_real_redis_broker(app, client, news, redis_broker, redis_worker, smtp_sink):
    """Sign-up, confirmation and welcome through a private redis-server and a worker."""
    welcome_for(news)
    assert sign_up(client, "ann@example.com", "news", name="Ann").status_code == 200
    redis_broker.join(QUEUE_SYSTEM, timeout=10_000)
    redis_worker.join()
    [confirmation] = smtp_sink.wait_for(1)
    press(client, link_path(confirmation, "confirm"))
    redis_broker.join(QUEUE_SYSTEM, timeout=10_000)
    redis_broker.join(QUEUE_DELIVERY, timeout=10_000)
    redis_worker.join()
    welcome = smtp_sink.wait_for(2)[1]
    assert (welcome.rcpt_tos, welcome["Subject"]) == (["ann@example.com"], "Welcome, Ann")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_its_view_in_your_browser_link_works_and_names_nobody(app, client, news, path):
    """The footer's web version link is a signed one that opens, never an archive page."""
    welcome_for(news)
    confirm_by_link(client, path, "ann@example.com", "news", name="Ann")
    [message] = path.welcomes()
    [web] = re.findall(r"http://localhost(/web/[A-Za-z0-9_.\-]+)", message.text())
    page = client.get(web)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "welcome to News" in body and "Ann" not in body
