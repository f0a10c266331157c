"""Erasure reaches the queue: a sign-up whose retries ran out keeps its address in Dramatiq's
dead-letter set for a week; erasing the person drops it, and nobody else's."""

import dramatiq
import pytest

from newsletter.background import enqueue
from newsletter.background.erasure import erase_person
from newsletter.models import Subscriber


def _signup(address: str) -> dict[str, object]:
    return {
        "email": address,
        "name": "",
        "list_ids": [1],
        "requested_at": "2026-12-05T10:00:00.000000+00:00",
        "wording_version": None,
        "source": "form",
        "ip_address": None,
        "user_agent": None,
    }


def _dead_letter_all(broker: dramatiq.Broker) -> None:
    """What a worker does when a message's retries run out: it rejects it (to the dead letters)."""
    consumer = broker.consume(enqueue.QUEUE_SYSTEM, timeout=100)
    for message in consumer:
        if message is None:
            break
        consumer.nack(message)
    consumer.close()


def _dead_addresses_in_redis(broker) -> list[str]:
    data = broker.client.hvals(f"{broker.namespace}:{enqueue.QUEUE_SYSTEM}.XQ.msgs")
    return sorted(dramatiq.Message.decode(d).args[0]["email"] for d in data)


@pytest.mark.redis
def test_erasing_a_person_drops_their_failed_signups_from_redis(app, redis_broker, make):
    with app.app_context():
        make.subscriber(email="zoë@example.org")
        for address in ("zoë@example.org", "bob@example.org", "zoë@example.org"):
            enqueue.record_signup(_signup(address))
        _dead_letter_all(redis_broker)
        assert _dead_addresses_in_redis(redis_broker) == [
            "bob@example.org",
            "zoë@example.org",
            "zoë@example.org",
        ]

        erase_person("Zoë@Example.org", actor="cli")

        assert _dead_addresses_in_redis(redis_broker) == ["bob@example.org"]
        dead_set = f"{redis_broker.namespace}:{enqueue.QUEUE_SYSTEM}.XQ"
        assert redis_broker.client.zcard(dead_set) == 1
        assert Subscriber.query.filter_by(email="zoë@example.org").count() == 0


def test_the_in_process_broker_forgets_them_too(app, stub_broker, make):
    with app.app_context():
        make.subscriber(email="ann@example.org")
        enqueue.record_signup(_signup("ann@example.org"))
        enqueue.record_signup(_signup("bob@example.org"))
        _dead_letter_all(stub_broker)
        assert len(stub_broker.dead_letters) == 2

        erase_person("ann@example.org", actor="cli")

        assert [m.args[0]["email"] for m in stub_broker.dead_letters] == ["bob@example.org"]
