"""The deliver_webhooks actor on a real Redis broker and worker: a committed change's event
reaches the receiver with no call but the commit's own message."""

import time

from newsletter.webhooks import endpoints
from tests.factories import pending_person
from tests.webhooks.conftest import deliveries


def test_the_commit_enqueues_the_actor_that_delivers(app, news, redis_broker, redis_worker):
    from tests.support.webhook_receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        made = endpoints.create(receiver.url, ["subscriber.requested"], "", actor="test")
        pending_person("ann@example.com", news)
        redis_broker.join("webhooks")
        redis_worker.join()
        for _ in range(100):  # the actor's own delayed wake-ups, if any, are not waited for
            if receiver.received:
                break
            time.sleep(0.05)
        [received] = receiver.received
        assert received.verifies_with(made.secret)
        assert [d.status for d in deliveries()] == ["delivered"]
