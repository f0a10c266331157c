"""Each change writes its webhook event in its own transaction, and nothing when it rolls back."""

import sqlalchemy as sa

from newsletter.addresses import parse_address
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import ConsentMethod, WebhookEvent
from newsletter.rights import erase_person
from newsletter.subscriptions.signup import request_subscription
from newsletter.subscriptions.unsubscribe import leave_lists, unsubscribe
from newsletter.suppression.manual import add_addresses
from newsletter.webhooks import endpoints
from newsletter.webhooks.events import EventType
from tests.factories import pending_person, sent_issue
from tests.webhooks.conftest import deliveries

ORIGIN = Origin(source="test")
NAME = "Zoë Ahmed-Ó Briain"
EMAIL = "zoë.ahmed@hackney.gov.uk"


def events() -> list[WebhookEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id)))


def test_a_sign_up_writes_subscriber_requested_with_ids_and_states_only(app, news, endpoint):
    """The event names the person by id and the lists by slug: no address, no name."""
    result = request_subscription(parse_address(EMAIL), NAME, [news], ORIGIN, "wording")
    [event] = events()
    assert event.type == "subscriber.requested"
    assert event.subscriber_id == result.subscriber_id
    assert event.payload["data"] == {
        "subscriber_id": result.subscriber_id,
        "lists": ["news"],
        "confirmed": [],
    }
    text = str(event.payload).casefold()
    assert "zoë" not in text and "hackney" not in text and "briain" not in text
    [delivery] = deliveries()
    assert delivery.status == "pending" and delivery.endpoint_id == endpoint.endpoint.id


def test_nothing_is_written_when_no_endpoint_wants_the_event(app, news, stub_broker, receiver):
    """An endpoint wanting only issues: a sign-up writes no event."""
    endpoints.create(receiver.url, ["issue.sent"], "", actor="test")
    pending_person("ann@example.com", news)
    assert events() == []


def test_a_change_rolled_back_leaves_no_event(app, make, news, endpoint):
    """Leaving a list, then rolling back: neither the change nor its event stays."""
    person = make.subscriber(email="ann@example.com", lists=[news])
    leave_lists(person, ConsentMethod.UNSUBSCRIBE_PAGE, ORIGIN)
    db.session.rollback()
    assert events() == []
    unsubscribe(db.session.get(type(person), person.id), ConsentMethod.UNSUBSCRIBE_PAGE, ORIGIN)
    assert [e.type for e in events()] == ["subscriber.unsubscribed", "subscriber.suppressed"]
    assert events()[0].payload["data"] == {
        "subscriber_id": person.id,
        "list": "news",
        "method": "unsubscribe_page",
    }


def test_a_suppression_by_hand_names_the_person_held(app, make, news, endpoint):
    """A held person's suppression is an event with the reason; an unknown address is none."""
    person = make.subscriber(email="ann@example.com", lists=[news])
    add_addresses(["ann@example.com", "nobody@example.com"], "asked by phone", actor="test")
    [event] = events()
    assert event.type == "subscriber.suppressed"
    assert event.payload["data"] == {"subscriber_id": person.id, "reason": "manual"}


def test_an_issue_finishing_writes_issue_sent(app, make, news, endpoint):
    """The issue's last row becoming final marks it sent, with its event in that transaction."""
    from newsletter.delivery.ledger import finish_if_done

    make.subscriber(email="ann@example.com", lists=[news])
    issue = sent_issue(make, [news])
    assert finish_if_done(issue.id)
    [event] = [e for e in events() if e.type == "issue.sent"]
    assert event.payload["data"] == {"issue_id": issue.id, "status": "sent"}
    assert event.subscriber_id is None


def test_erasure_drops_the_persons_undelivered_events_and_says_so(app, news, endpoint):
    """Pending events of an erased person are dropped; `subscriber.erased` goes instead."""
    person_id = pending_person("ann@example.com", news)
    other = pending_person("bob@example.com", news)
    erase_person("ann@example.com", actor="test")
    by_event = {d.event_id: d for d in deliveries()}
    kinds = {e.id: (e.type, e.subscriber_id) for e in events()}
    statuses = {kinds[event_id]: d.status.value for event_id, d in by_event.items()}
    assert statuses[("subscriber.requested", person_id)] == "dropped"
    assert statuses[("subscriber.requested", other)] == "pending"
    assert statuses[("subscriber.erased", person_id)] == "pending"
    erased = [e for e in events() if e.type == EventType.SUBSCRIBER_ERASED]
    assert erased[0].payload["data"] == {"subscriber_id": person_id}
