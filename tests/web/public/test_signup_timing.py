"""The sign-up request does the same work whatever the address's state, so its timing tells
nothing: the state-dependent work is queued to a worker, which records it as the request would
have, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from dramatiq import Worker

from newsletter import suppression
from newsletter.background.broker import EMBEDDED_WORKER
from newsletter.background.enqueue import QUEUE_SYSTEM
from newsletter.consent import Origin, wording_version
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.signup import SignupRequest, record_signup
from newsletter.subscriptions.unsubscribe import unsubscribe
from newsletter.web.public import list_choices
from tests.factories import pending_person
from tests.support.queries import recorded_statements
from tests.support.subscribing import BROWSER, events, person, row_counts, sign_up, statuses

STATES = {
    "new": "state-new@example.com",
    "pending": "state-pen@example.com",
    "confirmed": "state-con@example.com",
    "unsubscribed": "state-uns@example.com",
    "suppressed": "state-sup@example.com",
}


@pytest.fixture
def config_overrides(redis_url):
    """Redis for the queue and for the rate limits, both counted as in production."""
    return {"REDIS_URL": redis_url, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url}


@pytest.fixture
def every_state(news, make):
    """One address in each state the form could otherwise give away (the suppressed one
    bounced hard and was then erased: only its suppression entry remains)."""
    pending_person(STATES["pending"], news)
    make.subscriber(STATES["confirmed"], lists=[news])
    leaver = make.subscriber(STATES["unsubscribed"], lists=[news])
    unsubscribe(leaver, ConsentMethod.ONE_CLICK, Origin(source="test"))
    suppression.suppress(STATES["suppressed"], SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    assert person(STATES["new"]) is None


@pytest.fixture
def frozen_list_choices(monkeypatch):
    """The form's remembered public lists stay fresh for the whole test, however slow it runs."""
    monkeypatch.setattr(list_choices, "_clock", lambda: 0.0)


@contextmanager
def redis_commands(url: str) -> Iterator[list[tuple[str, ...]]]:
    """The commands Redis executes on `url`'s database inside the block, read with MONITOR.

    Each is its name and, for a script, the script's digest and number of keys: what the
    request asks Redis to do, without the keys and values that name the address.
    """
    database = int(url.rsplit("/", 1)[1])
    seen: list[tuple[str, ...]] = []
    marker = f"end-of-block-{id(seen)}"
    client = redis.Redis.from_url(url)
    ready = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if marker in command["command"]:
                    return
                if command["db"] == database:
                    words = command["command"].split(" ")
                    name = words[0].upper()
                    seen.append((name, *words[1:3]) if name == "EVALSHA" else (name,))

    watcher = threading.Thread(target=watch)
    watcher.start()
    ready.wait(5)
    try:
        yield seen
    finally:
        client.echo(marker)
        watcher.join(10)
        client.close()


def work_of_request(client, redis_url: str, email: str, ip: str) -> tuple[list, list, int]:
    """The SQL statements and Redis commands of one sign-up, and its status code."""
    with redis_commands(redis_url) as commands, recorded_statements() as statements:
        response = sign_up(client, email, "news", ip=ip)
    return statements, commands, response.status_code


def run_queue(broker) -> None:
    """Start a worker, let it finish everything queued, and stop it."""
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        broker.join(QUEUE_SYSTEM)
        worker.join()
    finally:
        worker.stop()


def test_request_does_the_same_work_in_every_state(
    client, redis_broker, redis_url, every_state, frozen_list_choices
):
    """The same SQL and the same Redis commands, in the same order, for all five states."""
    # Warm this process's remembered lists, wording and scripts, as a running server has them.
    for n in range(2):
        sign_up(client, f"warm-{n}@example.com", "news", ip="198.51.100.8")
    # Each from a network address of its own, so that no state finds a rate-limit window
    # another one opened.
    work = {
        state: work_of_request(client, redis_url, email, ip=f"198.51.100.{n}")
        for n, (state, email) in enumerate(STATES.items(), start=10)
    }
    assert {state: status for state, (_, _, status) in work.items()} == dict.fromkeys(STATES, 200)
    expected_sql, expected_redis, _ = work["new"]
    assert expected_redis, "the request counts its rate limits and enqueues in Redis"
    for state in STATES:
        statements, commands, _ = work[state]
        assert statements == expected_sql, state
        assert commands == expected_redis, state


def test_worker_records_each_state_as_the_request_did_before(
    client, redis_broker, every_state, smtp_sink
):
    """After the answer, the worker does what each state needs: one confirmation mail for
    the new address and the one who left, none for the rest, and the suppressed stays out."""
    before = {state: statuses(email) for state, email in STATES.items()}
    for email in STATES.values():
        sign_up(client, email, "news")
    assert {state: statuses(email) for state, email in STATES.items()} == before
    run_queue(redis_broker)
    assert statuses(STATES["new"]) == {"news": SubscriptionStatus.PENDING}
    assert statuses(STATES["unsubscribed"]) == {"news": SubscriptionStatus.PENDING}
    assert statuses(STATES["confirmed"]) == {"news": SubscriptionStatus.CONFIRMED}
    assert statuses(STATES["suppressed"]) == {"news": SubscriptionStatus.PENDING}
    mailed = sorted(smtp_sink.recipients())
    assert mailed == sorted([STATES["new"], STATES["unsubscribed"]])


def test_worker_records_the_evidence_of_the_request(client, redis_broker, news, smtp_sink):
    """The consent events carry the request's time, route, address, browser and wording."""
    asked_from = utcnow()
    sign_up(client, "ann@example.com", "news", name="Ann", ip="2001:db8::7")
    answered = utcnow()
    run_queue(redis_broker)
    (requested,) = events("ann@example.com")
    assert requested.action == ConsentAction.REQUESTED
    assert (requested.source, requested.ip_address) == ("/subscribe", "2001:db8::7")
    assert requested.user_agent == BROWSER
    assert asked_from <= requested.occurred_at <= answered
    assert requested.wording_version is not None
    assert person("ann@example.com").name == "Ann"
    assert smtp_sink.recipients() == ["ann@example.com"]


def test_a_sign_up_delivered_twice_is_recorded_once(app, news, stub_broker, stub_worker, smtp_sink):
    """A redelivered message writes no second request event and sends no second mail."""
    signup = SignupRequest(
        email="bob@example.com",
        name="",
        list_ids=[news.id],
        requested_at=utcnow().isoformat(),
        wording_version=wording_version("the form's words"),
        source="/subscribe",
        ip_address="192.0.2.1",
        user_agent=BROWSER,
    )
    db.session.commit()
    assert record_signup(signup) is not None
    counts = row_counts()
    assert record_signup(signup) is None
    assert row_counts() == counts
    assert [e.action for e in events("bob@example.com")] == [ConsentAction.REQUESTED]


def test_serve_worker_records_the_sign_up(client, app, news, stub_broker, stub_worker, smtp_sink):
    """Under `serve` (the in-process broker and its worker threads) the sign-up is queued too,
    and the confirmation mail follows."""
    app.extensions[EMBEDDED_WORKER] = True
    try:
        response = sign_up(client, "cy@example.com", "news")
        assert response.status_code == 200
        stub_broker.join(QUEUE_SYSTEM)
        stub_worker.join()
    finally:
        app.extensions[EMBEDDED_WORKER] = False
    assert statuses("cy@example.com") == {"news": SubscriptionStatus.PENDING}
    assert smtp_sink.wait_for(1)[0]["To"] == "cy@example.com"
