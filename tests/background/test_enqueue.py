"""Enqueueing: each typed function sends ids to an actor of workers/, on that actor's queue."""

import dramatiq
import pytest

from newsletter.background import enqueue

# The wire names: messages already waiting in Redis carry them, so they must never change.
WIRE_NAMES = {
    enqueue.record_signup: ("record_signup", "system"),
    enqueue.send_confirmation: ("send_confirmation", "system"),
    enqueue.send_preferences_link: ("send_preferences_link", "system"),
    enqueue.send_test_mail: ("send_test_mail", "system"),
    enqueue.send_issue_test: ("send_issue_test", "system"),
    enqueue.send_batch: ("send_issue_batch", "delivery"),
    enqueue.run_import: ("run_import", "imports"),
    enqueue.deliver_webhooks: ("deliver_webhooks", "webhooks"),
    enqueue.queue_welcomes: ("queue_welcomes", "system"),
}
ARGUMENTS = {
    enqueue.record_signup: ({"email": "ann@example.com", "list_ids": [7]},),
    enqueue.send_issue_test: (7, ["ann@example.com"]),
    enqueue.send_batch: (7, 100, 199),
}


@pytest.mark.parametrize("send", WIRE_NAMES, ids=lambda send: send.__name__)
def test_enqueue_function_reaches_its_actor_on_its_queue(app, stub_broker, send):
    """The message names a declared actor and sits on that actor's queue, holding only ids
    (a sign-up, which has none yet, holds the request)."""
    arguments = ARGUMENTS.get(send, (7,))
    with app.app_context():
        message = send(*arguments)
    actor = stub_broker.get_actor(message.actor_name)
    assert (message.actor_name, message.queue_name) == WIRE_NAMES[send]
    assert actor.queue_name == message.queue_name
    queued = dramatiq.Message.decode(stub_broker.queues[message.queue_name].get_nowait())
    assert queued.args == arguments


def test_every_actor_has_an_enqueue_function(stub_broker):
    """No actor of workers/ is left without a typed way to reach it."""
    assert set(stub_broker.get_declared_actors()) == {name for name, _ in WIRE_NAMES.values()}


def test_a_delayed_batch_waits_on_the_delay_queue(app, stub_broker):
    """A batch retried later is enqueued with its delay, not at once."""
    with app.app_context():
        message = enqueue.send_batch(7, 100, 199, delay_ms=60_000)
    assert message.queue_name == "delivery.DQ"
    assert message.options["eta"] > 0
    assert stub_broker.queues["delivery"].qsize() == 0
