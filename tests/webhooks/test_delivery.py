"""Delivery to a real HTTP receiver: signed, retried with backoff, in order per subscriber,
given up after a day, and an endpoint that keeps failing disabled, its backlog replayed."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.models import WebhookEndpoint
from newsletter.models.base import utcnow
from newsletter.webhooks import endpoints
from newsletter.webhooks.dispatch import sweep
from tests.factories import pending_person
from tests.webhooks.conftest import deliver, deliveries, make_due


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_RETRY_DELAY": 30.0, "WEBHOOK_MAX_DELAY": 3600.0, "WEBHOOK_TIMEOUT": 5.0}


def test_each_event_arrives_signed_per_standard_webhooks(app, news, endpoint, receiver):
    """webhook-id, -timestamp and -signature; the standardwebhooks package verifies them."""
    person = pending_person("zoë@bücher.example", news)
    deliver(endpoint.endpoint.id)
    [received] = receiver.received
    assert received.verifies_with(endpoint.secret)
    assert not received.verifies_with(endpoints.new_secret())
    [delivery] = deliveries()
    assert received.headers["webhook-id"] == f"evt_{delivery.event_id}"
    assert received.headers["content-type"] == "application/json"
    assert received.payload["type"] == "subscriber.requested"
    assert received.payload["data"]["subscriber_id"] == person
    assert "bücher" not in received.body.decode()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status == 200


def test_a_refused_attempt_is_retried_with_a_doubling_delay(app, news, endpoint, receiver):
    """A 500 keeps the delivery pending, due 30 s later, then 60 s; a 2xx delivers it."""
    receiver.answer = lambda received: 500
    pending_person("ann@example.com", news)
    deliver(endpoint.endpoint.id)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.last_error == "the endpoint answered 500"
    delay = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=29) < delay < timedelta(seconds=31)
    deliver(endpoint.endpoint.id)  # not due yet: nothing sent
    assert len(receiver.received) == 1
    make_due(endpoint.endpoint.id)
    deliver(endpoint.endpoint.id)
    [delivery] = deliveries()
    delay = delivery.next_attempt_at - delivery.last_attempt_at
    assert delivery.attempts == 2 and timedelta(seconds=59) < delay < timedelta(seconds=61)
    receiver.answer = lambda received: 204
    make_due(endpoint.endpoint.id)
    deliver(endpoint.endpoint.id)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    # The same event each time: one webhook-id, so a receiver can ignore repeats.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_an_unreachable_endpoint_is_a_failed_attempt(app, news, stub_broker):
    """Nothing listening: the attempt fails with a reason, no traceback, due again later."""
    from tests.support.servers import free_port

    made = endpoints.create(f"http://127.0.0.1:{free_port()}/x", ["subscriber.requested"], "", "t")
    pending_person("ann@example.com", news)
    pending_person("bob@example.com", news)
    deliver(made.endpoint.id)
    rows = deliveries()
    assert [(d.status, d.attempts) for d in rows] == [("pending", 1), ("pending", 1)]
    assert rows[0].last_error == "could not connect to the endpoint"


def test_a_persons_later_event_waits_for_the_earlier_one(app, news, endpoint, receiver):
    """Ann's second event is not sent while her first is retried; Bob's goes meanwhile."""
    ann = pending_person("ann@example.com", news)
    bob = pending_person("bob@example.com", news)
    from newsletter.consent import Origin
    from newsletter.models import ConsentMethod, Subscriber
    from newsletter.subscriptions.unsubscribe import unsubscribe

    unsubscribe(db.session.get(Subscriber, ann), ConsentMethod.UNSUBSCRIBE_PAGE, Origin("t"))
    receiver.answer = lambda r: 503 if r.payload["data"].get("subscriber_id") == ann else 200
    deliver(endpoint.endpoint.id)
    sent = [(r.payload["type"], r.payload["data"]["subscriber_id"]) for r in receiver.received]
    assert sent == [("subscriber.requested", ann), ("subscriber.requested", bob)]
    make_due(endpoint.endpoint.id)
    deliver(endpoint.endpoint.id)  # Ann's first fails again: her later events still wait
    assert [r.payload["type"] for r in receiver.received[2:]] == ["subscriber.requested"]
    receiver.answer = lambda r: 200
    make_due(endpoint.endpoint.id)
    deliver(endpoint.endpoint.id)
    later = [(r.payload["type"], r.payload["data"]["subscriber_id"]) for r in receiver.received[3:]]
    assert later == [
        ("subscriber.requested", ann),
        ("subscriber.unsubscribed", ann),
        ("subscriber.suppressed", ann),
    ]


def test_an_event_is_given_up_after_a_day_and_the_next_goes_on(app, news, endpoint, receiver):
    """Past its day of retries, a failed attempt marks it failed; the person's next is sent."""
    ann = pending_person("ann@example.com", news)
    from newsletter.consent import Origin
    from newsletter.models import ConsentMethod, Subscriber
    from newsletter.subscriptions.unsubscribe import unsubscribe

    unsubscribe(db.session.get(Subscriber, ann), ConsentMethod.UNSUBSCRIBE_PAGE, Origin("t"))
    receiver.answer = lambda r: 500 if r.payload["type"] == "subscriber.requested" else 200
    deliver(endpoint.endpoint.id)
    first = deliveries()[0]
    assert first.status == "pending"
    # A day has passed since it was written (the stored clock moved, no sleeping).
    make_due(endpoint.endpoint.id, retry_until=utcnow() - timedelta(seconds=1))
    deliver(endpoint.endpoint.id)
    rows = deliveries()
    assert rows[0].status == "failed" and rows[0].attempts == 2
    assert [d.status for d in rows[1:]] == ["delivered", "delivered"]


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_backlog_replayed(
    app, news, endpoint, receiver, admin_client
):
    """Disabled with its reason (on the dashboard); enabling holds the backlog until replayed."""
    endpoint_id = endpoint.endpoint.id
    receiver.answer = lambda r: 500
    pending_person("ann@example.com", news)
    deliver(endpoint_id)
    row = db.session.get(WebhookEndpoint, endpoint_id)
    assert row.failing_since is not None and row.enabled
    with db.engine.begin() as connection:
        table = WebhookEndpoint.__table__
        connection.execute(sa.update(table).values(failing_since=utcnow() - timedelta(hours=25)))
    make_due(endpoint_id)
    deliver(endpoint_id)
    db.session.expire_all()
    row = db.session.get(WebhookEndpoint, endpoint_id)
    assert not row.enabled and "failed for 24 hours" in row.disabled_reason
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "webhook endpoint" in page.lower()
    # Events go on being written while it is off, and nothing is sent to it.
    pending_person("bob@example.com", news)
    make_due(endpoint_id)
    deliver(endpoint_id)
    assert len(receiver.received) == 2
    receiver.answer = lambda r: 200
    assert endpoints.enable(endpoint_id, actor="test") == 2
    deliver(endpoint_id)
    assert len(receiver.received) == 2  # the backlog is held, not sent unasked
    assert {d.status for d in deliveries()} == {"held"}
    assert endpoints.replay(endpoint_id, actor="test") == 2
    deliver(endpoint_id)
    assert {d.status for d in deliveries()} == {"delivered"}
    assert len(receiver.received) == 4


def test_resend_delivers_one_event_again(app, news, endpoint, receiver):
    """An admin's resend sends a delivered event once more, same webhook-id."""
    pending_person("ann@example.com", news)
    deliver(endpoint.endpoint.id)
    [delivery] = deliveries()
    endpoints.resend(endpoint.endpoint.id, delivery.id, actor="test")
    deliver(endpoint.endpoint.id)
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_the_sweep_sends_what_a_lost_message_left(app, news, endpoint, receiver, stub_broker):
    """The queue emptied (Redis lost): the sweep finds due rows nobody took and enqueues them."""
    pending_person("ann@example.com", news)
    stub_broker.flush_all()
    assert sweep() == []  # due only just now: a message may still be on its way
    make_due(endpoint.endpoint.id, earlier=timedelta(minutes=1))
    assert sweep() == [endpoint.endpoint.id]
    assert stub_broker.queues["webhooks"].qsize() == 1


@pytest.mark.parametrize(
    "url, problem",
    [
        ("ftp://crm.example.org/hook", "must start with https://"),
        ("https://user:pw@crm.example.org/hook", "user name or password"),
        ("https:///nohost", "Enter a URL like"),
        ("", "Enter the URL"),
        ("https://crm.example.org/" + "a" * 2000, "2,000 characters"),
        ("https://crm.example.org:99999/", "Enter a URL like"),
    ],
)
def test_urls_an_endpoint_may_not_have(app, url, problem):
    from newsletter.errors import ValidationError

    with pytest.raises(ValidationError, match=problem):
        endpoints.check_url(url)


def test_http_only_while_base_url_is_http(app):
    app.config["BASE_URL"] = "https://news.example.org"
    from newsletter.errors import ValidationError

    with pytest.raises(ValidationError, match="https://"):
        endpoints.check_url("http://crm.example.org/hook")
    assert endpoints.check_url(" https://crm.example.org/hook ") == "https://crm.example.org/hook"
