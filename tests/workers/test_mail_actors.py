"""The system mail actors: ids in, idempotent, retried with backoff on 4xx, never on 5xx."""

import smtplib
import time

import dramatiq
import pytest
from dramatiq.common import dq_name

from newsletter.background import enqueue
from newsletter.mail.relay import transport_for
from newsletter.mail.transport import (
    PermanentSmtpError,
    SmtpTransport,
    ThrottledSmtpError,
    TransientSmtpError,
    parse_smtp_url,
)
from newsletter.models import SubscriptionStatus
from tests.factories import pending_person
from tests.support.servers import free_port
from tests.support.smtp import SmtpSink
from tests.support.smtp_servers import RecordingHandler, start_server
from tests.support.subscribing import link_path, person, sign_up, statuses
from workers.mail import MAX_RETRIES, retry_when, send_confirmation

# A short backoff for the retry tests; the actors' own is 5 s doubling to 10 min.
QUICK = {"min_backoff": 20, "max_backoff": 100}


class ScriptedRelay:
    """An SMTP handler that answers DATA with each scripted reply in turn, then accepts."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.attempts: list[float] = []
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.attempts.append(time.monotonic())
        if self.replies:
            return self.replies.pop(0)
        self.accepted.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def relay(app):
    """Start a ScriptedRelay with the given replies; the app's SMTP_URL points at it."""
    controllers = []

    def start(*replies: str) -> ScriptedRelay:
        handler = ScriptedRelay(*replies)
        controller = start_server(handler)
        controllers.append(controller)
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
        return handler

    yield start
    for controller in controllers:
        controller.stop()


# retry_when: the decision the Retries middleware asks of these actors.


@pytest.mark.parametrize(
    "error",
    [
        ThrottledSmtpError("451 try again later", 451),
        ThrottledSmtpError("421 closing", 421),
        TransientSmtpError("cannot connect to the SMTP relay"),
        TransientSmtpError("454 TLS not available", 454),
        ConnectionResetError(),
    ],
    ids=["451", "421", "connection refused", "454", "other error"],
)
def test_retry_when_retries_4xx_and_connection_errors(error):
    """Temporary failures are retried."""
    assert retry_when(0, error) is True
    assert retry_when(MAX_RETRIES - 1, error) is True


@pytest.mark.parametrize("code", [550, 551, 552, 553, 554])
def test_retry_when_never_retries_a_5xx(code):
    """A permanent refusal would only be refused again."""
    assert retry_when(0, PermanentSmtpError(f"{code} no", code)) is False


def test_retry_when_gives_up_after_max_retries():
    """Even a temporary failure stops being retried after MAX_RETRIES."""
    assert retry_when(MAX_RETRIES, ThrottledSmtpError("451", 451)) is False


def test_a_refused_connection_is_retried(app):
    """A real refused connection is sorted as transient, which retry_when retries."""
    transport = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{free_port()}"), timeout=2)
    with pytest.raises(TransientSmtpError) as refused:
        transport.send(b"Subject: x\r\n\r\nx\r\n", "a@example.org", ["b@example.org"])
    assert retry_when(0, refused.value) is True


@pytest.mark.parametrize("code, retried", [("451", True), ("452", True), ("550", False)])
def test_real_relay_replies_are_sorted_for_retry_when(code, retried):
    """A relay's actual refusal of a recipient reaches retry_when as the right error."""
    handler = RecordingHandler()
    controller = start_server(handler)
    try:
        with (
            SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{controller.port}")) as transport,
            pytest.raises((ThrottledSmtpError, PermanentSmtpError)) as refused,
        ):
            transport.send(b"Subject: x\r\n\r\nx\r\n", "a@example.org", [f"reply-{code}@x.org"])
    finally:
        controller.stop()
    assert retry_when(0, refused.value) is retried


def test_actors_are_named_and_queued_explicitly():
    """The actor takes the names enqueue spells (test_enqueue pins them) and sorts its errors."""
    assert (send_confirmation.actor_name, send_confirmation.queue_name) == (
        enqueue.SEND_CONFIRMATION,
        enqueue.QUEUE_SYSTEM,
    )
    assert send_confirmation.options["retry_when"] is retry_when
    assert send_confirmation.options["throws"] == (PermanentSmtpError,)


# Through the real StubBroker and Worker.


def test_sign_up_enqueues_the_subscriber_id_only(client, news, stub_broker):
    """The message holds the person's id, not their address or any object."""
    sign_up(client, "ann@example.com", "news")
    queue = stub_broker.queues[enqueue.QUEUE_SYSTEM]
    assert queue.qsize() == 1
    message = dramatiq.Message.decode(queue.get_nowait())
    assert (message.actor_name, message.args) == (
        enqueue.SEND_CONFIRMATION,
        (person("ann@example.com").id,),
    )
    assert "ann" not in message.encode().decode()


def test_second_run_for_a_person_who_confirmed_meanwhile_sends_nothing(client, news, mail):
    """The actor reads the database: once confirmed, a repeated message mails nothing."""
    sign_up(client, "ann@example.com", "news")
    client.post(link_path(mail.only_message(), "confirm"))  # the page's button
    enqueue.send_confirmation(person("ann@example.com").id)
    assert len(mail.deliver()) == 1


def test_message_for_a_person_who_is_gone_is_done(app, mail):
    """An id that matches nobody completes without error or mail."""
    enqueue.send_confirmation(424242)
    assert mail.deliver() == []
    assert mail.broker.dead_letters == []


def test_throttled_relay_is_tried_again_after_a_backoff(app, news, stub_broker, stub_worker, relay):
    """A 451 reply leads to a later retry that gets through: one mail, two attempts."""
    handler = relay("451 4.7.1 Try again later")
    subscriber_id = pending_person("ann@example.com", news)
    send_confirmation.send_with_options(args=(subscriber_id,), **QUICK)
    stub_broker.join(enqueue.QUEUE_SYSTEM)
    stub_worker.join()
    assert len(handler.attempts) == 2
    assert len(handler.accepted) == 1
    assert handler.attempts[1] - handler.attempts[0] >= QUICK["min_backoff"] / 1000
    assert stub_broker.dead_letters == []


def test_relay_that_keeps_throttling_is_given_up_after_max_retries(
    app, news, stub_broker, stub_worker, relay
):
    """A relay that never accepts is tried 1 + MAX_RETRIES times, then the message dies."""
    handler = relay(*["451 4.7.1 Try again later"] * (MAX_RETRIES + 5))
    send_confirmation.send_with_options(args=(pending_person("ann@example.com", news),), **QUICK)
    with pytest.raises(ThrottledSmtpError):
        stub_broker.join(enqueue.QUEUE_SYSTEM)
    stub_worker.join()
    assert len(handler.attempts) == 1 + MAX_RETRIES
    assert len(stub_broker.dead_letters) == 1


def test_relay_down_then_up_is_retried_until_delivered(app, news, stub_broker, stub_worker, caplog):
    """Connection refused, then the relay starts: the retry delivers the mail."""
    port = free_port()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    send_confirmation.send_with_options(
        args=(pending_person("ann@example.com", news),), min_backoff=500, max_backoff=2000
    )
    deadline = time.monotonic() + 10
    while "Connection refused" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "Connection refused" in caplog.text
    sink = SmtpSink(port=port)
    sink.start()
    try:
        stub_broker.join(enqueue.QUEUE_SYSTEM)
        stub_worker.join()
        [message] = sink.wait_for(1)
    finally:
        sink.stop()
    assert message.rcpt_tos == ["ann@example.com"]


def test_permanent_refusal_is_not_retried(client, news, stub_broker, stub_worker, relay):
    """A 5xx reply to a sign-up's mail: one attempt, the message dead-lettered, no retry."""
    handler = relay(*["554 5.7.1 Message refused"] * 5)
    sign_up(client, "ann@example.com", "news")
    with pytest.raises(PermanentSmtpError):
        stub_broker.join(enqueue.QUEUE_SYSTEM)
    stub_worker.join()
    [dead] = stub_broker.dead_letters
    assert dead.actor_name == enqueue.SEND_CONFIRMATION
    assert "retries" not in dead.options
    time.sleep(0.3)  # Long enough for any quick retry to have come back.
    assert len(handler.attempts) == 1
    assert stub_broker.queues[enqueue.QUEUE_SYSTEM].qsize() == 0
    assert stub_broker.queues[dq_name(enqueue.QUEUE_SYSTEM)].qsize() == 0


def test_refused_recipient_is_not_retried(client, news, stub_broker, stub_worker, app):
    """A 550 to RCPT TO (no such mailbox) is permanent too: one attempt, dead-lettered."""
    handler = RecordingHandler()
    controller = start_server(handler)
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        sign_up(client, "reply-550@example.org", "news")
        with pytest.raises(PermanentSmtpError):
            stub_broker.join(enqueue.QUEUE_SYSTEM)
        stub_worker.join()
    finally:
        controller.stop()
    assert len(stub_broker.dead_letters) == 1
    assert handler.messages == []


# End to end: form, worker, SMTP, link.


def test_sign_up_to_confirmed_through_the_stub_broker(client, news, mail):
    """Form, in-process broker and worker, SMTP sink, link: the person is confirmed."""
    assert sign_up(client, "ann@example.com", "news").status_code == 200
    assert statuses("ann@example.com") == {"news": SubscriptionStatus.PENDING}
    path = link_path(mail.only_message(), "confirm")
    assert "Confirm my subscription</button>" in client.get(path).get_data(as_text=True)
    response = client.post(path)
    assert "Subscription confirmed" in response.get_data(as_text=True)
    assert statuses("ann@example.com") == {"news": SubscriptionStatus.CONFIRMED}


def test_sign_up_to_confirmed_through_redis(client, news, redis_broker, redis_worker, smtp_sink):
    """The same journey with a real Redis broker and worker."""
    assert sign_up(client, "ann@example.com", "news").status_code == 200
    redis_broker.join(enqueue.QUEUE_SYSTEM, timeout=10_000)
    redis_worker.join()
    [message] = smtp_sink.wait_for(1)
    assert message.rcpt_tos == ["ann@example.com"]
    response = client.post(link_path(message, "confirm"))
    assert response.status_code == 200
    assert statuses("ann@example.com") == {"news": SubscriptionStatus.CONFIRMED}


def test_preferences_renewal_through_redis(client, news, redis_broker, redis_worker, smtp_sink):
    """The renewal button's mail goes through Redis too."""
    subscriber_id = pending_person("ann@example.com", news)
    enqueue.send_preferences_link(subscriber_id)
    redis_broker.join(enqueue.QUEUE_SYSTEM, timeout=10_000)
    redis_worker.join()
    [message] = smtp_sink.wait_for(1)
    assert client.get(link_path(message, "preferences")).status_code == 200


def test_smtp_errors_reach_the_actor_as_sorted_errors(app, relay):
    """smtplib's own exceptions never leave the transport unsorted."""
    relay("554 5.7.1 Message refused")
    with transport_for(app) as transport, pytest.raises(PermanentSmtpError) as refused:
        transport.send(b"Subject: x\r\n\r\nx\r\n", "a@example.org", ["b@example.org"])
    assert isinstance(refused.value.__cause__, smtplib.SMTPDataError)
