"""Crash safety with real processes: nothing lost, few duplicates.

Invariant 1 in docs/architecture.md.

A `newsletter worker` process is SIGKILLed mid-send, or its private Redis is restarted empty
mid-send; a worker (a new one after the kill) and its sweep still mail every recipient, and
duplicates stay within what was in flight: at most RECORD_EVERY messages per worker thread.
A batch slowed by its relay or by SEND_RATE to many times SEND_CLAIM_TIMEOUT keeps its rows
(its heartbeat renews them), so the sweep never hands them to a second batch: no duplicates.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from dramatiq.brokers.redis import RedisBroker

from newsletter.background.broker import use_broker
from newsletter.delivery.control import send_issue
from newsletter.delivery.sender import RECORD_EVERY
from newsletter.extensions import db
from newsletter.models import Issue, IssueStatus
from tests.factories import make_issue
from tests.support.process import clean_env
from tests.support.serve_process import RunningCommand
from tests.support.servers import start_redis_server

RECIPIENTS = 300
THREADS = 2
# Slow enough that a kill lands mid-send; neither is a time-out.
PACE = {"SEND_RATE": "150", "SEND_BATCH_SIZE": "40"}
# The sweep every 0.2 s, with short time-outs (test_redis_restarted_empty_mid_send…).
FAST_SWEEP = {"PERIODIC_INTERVAL": "0.2", "SEND_CLAIM_TIMEOUT": "4", "SEND_STALL_SECONDS": "2"}

pytestmark = pytest.mark.redis


@pytest.fixture
def private_redis():
    server = start_redis_server()
    url = server.start()
    yield server, url
    server.stop()


@pytest.fixture
def send_to(app, make, private_redis):
    """send_to(count, batch_size): an issue of `count` people, its batches on the private Redis."""
    _, url = private_redis
    app.config["REDIS_URL"] = url
    broker = use_broker(app, RedisBroker(url=url))
    news = make.list(slug="news")

    def send(count: int, batch_size: int) -> tuple[Issue, list[str]]:
        app.config["SEND_BATCH_SIZE"] = batch_size
        emails = [f"p{n}@example.com" for n in range(count)]
        for email in emails:
            make.subscriber(email=email, lists=[news])
        issue = make_issue(make, [news])
        send_issue(issue, "test", dispatch=True)
        return issue, emails

    yield send
    broker.close()


def worker(
    tmp_path, database_url: str, redis_url: str, smtp_port: int, threads: int = THREADS,
    **settings: str,
) -> RunningCommand:  # fmt: skip
    env = clean_env(
        DATABASE_URL=database_url,
        SECRET_KEY="test-secret-key-not-for-production",
        SUPPRESSION_KEY="test-suppression-key",
        REDIS_URL=redis_url,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        **settings,
    )
    command = RunningCommand("worker", "--threads", str(threads), cwd=tmp_path, env=env)
    command.wait_for_line("worker process ready")
    return command


def wait_until_sent(issue_id: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = db.session.scalar(sa.select(Issue.status).where(Issue.id == issue_id))
        db.session.commit()
        if status == IssueStatus.SENT:
            return
        time.sleep(0.2)
    raise AssertionError(f"issue {issue_id} is still {status}")


def assert_all_mailed(smtp_sink, emails: list[str], in_flight: int) -> None:
    counts = Counter(smtp_sink.recipients())
    assert set(counts) == set(emails), f"missing: {sorted(set(emails) - set(counts))[:5]}"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= in_flight, f"{duplicates} duplicates"


def test_a_worker_killed_mid_send_with_default_timeouts_is_caught_up_within_two_minutes(
    tmp_path, app, migrated_database, smtp_sink, private_redis, send_to
):
    """SIGKILL mid-send, default time-outs; a new worker mails everyone within two minutes."""
    _, redis_url = private_redis
    issue, emails = send_to(RECIPIENTS, batch_size=int(PACE["SEND_BATCH_SIZE"]))
    first = worker(tmp_path, migrated_database, redis_url, smtp_sink.port, **PACE)
    try:
        smtp_sink.wait_for(60, timeout=60)
    finally:
        first.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=15)
    assert len(smtp_sink.messages) < RECIPIENTS, "the worker finished before it was killed"
    second = worker(tmp_path, migrated_database, redis_url, smtp_sink.port, **PACE)
    try:
        # The dead worker's periodic lease and its claims lapse first (docs/architecture.md).
        wait_until_sent(issue.id, timeout=killed_at + 150 - time.monotonic())
    finally:
        second.interrupt(signal.SIGTERM)
    assert_all_mailed(smtp_sink, emails, in_flight=RECORD_EVERY * THREADS)


def test_redis_restarted_empty_mid_send_loses_nothing(
    tmp_path, app, migrated_database, smtp_sink, private_redis, send_to
):
    """Redis loses its queues mid-send; the sweep enqueues the batches again."""
    server, redis_url = private_redis
    issue, emails = send_to(RECIPIENTS, batch_size=int(PACE["SEND_BATCH_SIZE"]))
    running = worker(tmp_path, migrated_database, redis_url, smtp_sink.port, **PACE, **FAST_SWEEP)
    try:
        smtp_sink.wait_for(60, timeout=60)
        server.stop()
        server.__init__(port=server.port)
        server.start()
        assert len(smtp_sink.messages) < RECIPIENTS, "the worker finished before Redis went"
        wait_until_sent(issue.id)
    finally:
        running.interrupt(signal.SIGTERM)
    assert_all_mailed(smtp_sink, emails, in_flight=RECORD_EVERY * THREADS)


# Each batch takes four to nine times SEND_CLAIM_TIMEOUT: a relay that answers each message
# 3 s late (one SMTP transaction outlasts the time-out), or four threads sharing one message a
# second (a claimed row waits up to 4 s for its turn).
SLOW_BATCHES = {
    "slow relay": {"data_delay": 3.0, "recipients": 12, "batch_size": 6, "threads": 2},
    "paced": {"SEND_RATE": "1", "recipients": 8, "batch_size": 2, "threads": 4},
}


@pytest.mark.parametrize("case", SLOW_BATCHES.values(), ids=SLOW_BATCHES.keys())
def test_a_batch_slower_than_the_claim_timeout_sends_no_duplicates(
    tmp_path, app, migrated_database, smtp_sink, private_redis, send_to, case
):
    """The sweep runs five times a second with a 2 s claim time-out: every recipient once."""
    _, redis_url = private_redis
    case = dict(case)
    smtp_sink.data_delay = case.pop("data_delay", 0.0)
    issue, emails = send_to(case.pop("recipients"), batch_size=case["batch_size"])
    settings = {
        "PERIODIC_INTERVAL": "0.2", "SEND_CLAIM_TIMEOUT": "2", "SEND_STALL_SECONDS": "1",
        "SEND_BATCH_SIZE": str(case.pop("batch_size")),
        **case,
    }  # fmt: skip
    running = worker(tmp_path, migrated_database, redis_url, smtp_sink.port, **settings)
    try:
        wait_until_sent(issue.id)
    finally:
        running.interrupt(signal.SIGTERM)
    assert Counter(smtp_sink.recipients()) == Counter(emails)
    assert "went back to the queue" not in running.stderr
