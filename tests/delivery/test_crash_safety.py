"""Crash safety with real processes (DESIGN.md invariant 1): nothing lost, few duplicates.

A `newsletter worker` process is SIGKILLed mid-send, or its private Redis is restarted empty
mid-send; a worker (a new one after the kill) and its sweep still mail every recipient, and
duplicates stay within what was in flight: at most RECORD_EVERY messages per worker thread.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from newsletter.delivery.sender import RECORD_EVERY
from newsletter.extensions import db
from newsletter.models import Issue, IssueStatus
from tests.cli.serve_process import RunningCommand
from tests.conftest import start_redis_server
from tests.delivery.helpers import make_issue
from tests.process import clean_env

RECIPIENTS = 300
THREADS = 2

pytestmark = pytest.mark.redis


@pytest.fixture
def private_redis():
    server = start_redis_server()
    url = server.start()
    yield server, url
    server.stop()


@pytest.fixture
def sending_issue(app, make, private_redis):
    """An issue of RECIPIENTS people, its batches on the private Redis."""
    from dramatiq.brokers.redis import RedisBroker

    from newsletter.issues import send_issue
    from workers.broker import use_broker

    _, url = private_redis
    app.config["REDIS_URL"] = url
    broker = use_broker(app, RedisBroker(url=url))
    news = make.list(slug="news")
    emails = [f"p{n}@example.com" for n in range(RECIPIENTS)]
    for email in emails:
        make.subscriber(email=email, lists=[news])
    issue = make_issue(make, [news])
    send_issue(issue, "test", dispatch=True)
    yield issue, emails
    broker.close()


def worker(tmp_path, database_url: str, redis_url: str, smtp_port: int) -> RunningCommand:
    env = clean_env(
        DATABASE_URL=database_url,
        SECRET_KEY="test-secret-key-not-for-production",
        SUPPRESSION_KEY="test-suppression-key",
        REDIS_URL=redis_url,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        SEND_RATE="150",
        SEND_BATCH_SIZE="40",
        PERIODIC_INTERVAL="0.2",
        SEND_CLAIM_TIMEOUT="4",
        SEND_STALL_SECONDS="2",
    )
    command = RunningCommand("worker", "--threads", str(THREADS), cwd=tmp_path, env=env)
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


def test_a_worker_killed_mid_send_loses_nothing(
    tmp_path, app, migrated_database, smtp_sink, private_redis, sending_issue
):
    """SIGKILL mid-send; a new worker and the sweep finish the issue, every recipient mailed."""
    _, redis_url = private_redis
    issue, emails = sending_issue
    first = worker(tmp_path, migrated_database, redis_url, smtp_sink.port)
    try:
        smtp_sink.wait_for(60, timeout=60)
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.wait(timeout=15)
    assert len(smtp_sink.messages) < RECIPIENTS, "the worker finished before it was killed"
    second = worker(tmp_path, migrated_database, redis_url, smtp_sink.port)
    try:
        wait_until_sent(issue.id)
    finally:
        second.interrupt(signal.SIGTERM)
    assert_all_mailed(smtp_sink, emails, in_flight=RECORD_EVERY * THREADS)


def test_redis_restarted_empty_mid_send_loses_nothing(
    tmp_path, app, migrated_database, smtp_sink, private_redis, sending_issue
):
    """Redis loses its queues mid-send; the sweep enqueues the batches again."""
    server, redis_url = private_redis
    issue, emails = sending_issue
    running = worker(tmp_path, migrated_database, redis_url, smtp_sink.port)
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
