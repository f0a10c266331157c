"""The batch actor on a broker, concurrent batches, and the sweep that revives stalled work."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.background.enqueue import QUEUE_DELIVERY
from newsletter.delivery.control import send_issue
from newsletter.delivery.sender import send_batch
from newsletter.delivery.sweep import sweep
from newsletter.extensions import db
from newsletter.models import Delivery, DeliveryStatus, Issue, IssueStatus
from newsletter.models.base import utcnow
from tests.factories import make_issue, start, statuses


@pytest.fixture
def config_overrides():
    return {"SEND_RETRY_DELAY": 0.0, "SEND_BATCH_SIZE": 5, "SEND_STALL_SECONDS": 60.0}


def people(make, news, count):
    return [make.subscriber(email=f"p{n}@example.com", lists=[news]) for n in range(count)]


def test_send_with_dispatch_enqueues_batches_the_worker_sends(
    app, make, news, smtp_sink, stub_broker, stub_worker
):
    """Batches by id range on the delivery queue; the worker sends them all."""
    people(make, news, 12)
    issue = make_issue(make, [news])
    send_issue(issue, "test", dispatch=True)
    stub_broker.join(QUEUE_DELIVERY)
    stub_worker.join()
    assert sorted(smtp_sink.recipients()) == sorted(f"p{n}@example.com" for n in range(12))
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SENT and issue.finished_at is not None


def test_concurrent_batches_on_one_range_never_send_twice(app, make, news, smtp_sink):
    """Four threads running the same batch at once: every row sent exactly once."""
    people(make, news, 60)
    issue = make_issue(make, [news])
    start(issue)
    barrier = threading.Barrier(4)

    def run():
        with app.app_context():
            barrier.wait()
            send_batch(issue.id, 0, 10**9)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    recipients = smtp_sink.recipients()
    assert len(recipients) == 60 and len(set(recipients)) == 60
    assert set(statuses(issue).values()) == {"sent"}


def test_sweep_enqueues_work_that_was_only_recorded(
    app, make, news, smtp_sink, stub_broker, stub_worker
):
    """`issues send` without Redis records the ledger; serve's sweep enqueues and sends it."""
    people(make, news, 7)
    issue = make_issue(make, [news])
    start(issue)
    assert sweep() == 1
    stub_broker.join(QUEUE_DELIVERY)
    stub_worker.join()
    assert len(smtp_sink.recipients()) == 7
    sweep()
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SENT


def test_sweep_leaves_a_live_issue_alone(app, make, news, stub_broker):
    """Enqueued moments ago: nothing is enqueued twice."""
    people(make, news, 3)
    issue = make_issue(make, [news])
    start(issue)
    assert sweep() == 1
    assert sweep() == 0


def stalled_issue(make, news):
    """A sending issue enqueued once, five minutes ago, that no batch has moved since."""
    people(make, news, 3)
    issue = make_issue(make, [news])
    start(issue)
    sweep()
    db.session.execute(
        sa.update(Issue).values(enqueued_at=utcnow() - timedelta(minutes=5), progress_at=None)
    )
    return issue


def test_sweep_revives_a_stalled_issue(app, make, news, stub_broker):
    """No batch moved or was enqueued within SEND_STALL_SECONDS: enqueued again."""
    stalled_issue(make, news)
    db.session.commit()
    assert sweep() == 1


def test_sweep_releases_rows_a_dead_worker_left_in_sending(app, make, news):
    """Rows claimed longer ago than SEND_CLAIM_TIMEOUT go back to queued."""
    people(make, news, 2)
    issue = make_issue(make, [news])
    start(issue)
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(
        sa.update(Delivery).values(status=DeliveryStatus.SENDING, claimed_at=long_ago)
    )
    db.session.commit()
    sweep()
    assert set(statuses(issue).values()) == {"queued"}


def test_sweep_enqueues_the_issue_of_rows_it_freed_at_once(app, make, news, stub_broker):
    """A dead worker's rows go back to the queue and their batches are enqueued in the same
    pass, though the issue was enqueued moments ago (the stall rule would wait)."""
    people(make, news, 3)
    issue = make_issue(make, [news])
    start(issue)
    assert sweep() == 1
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(
        sa.update(Delivery).values(status=DeliveryStatus.SENDING, claimed_at=long_ago)
    )
    db.session.commit()
    assert sweep() == 1
    assert set(statuses(issue).values()) == {"queued"}


def test_a_batch_heartbeat_keeps_its_issue_from_being_enqueued_again(app, make, news, stub_broker):
    """Nothing recorded or enqueued for minutes, but a batch renewed its claim just now."""
    stalled_issue(make, news)
    first = db.session.scalar(sa.select(sa.func.min(Delivery.id)))
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.id == first)
        .values(status=DeliveryStatus.SENDING, claimed_at=utcnow())
    )
    db.session.commit()
    assert sweep() == 0


def test_retried_rows_come_back_through_a_delayed_batch(
    app, make, news, smtp_sink, stub_broker, stub_worker
):
    """A 4xx reply: the actor enqueues the batch again, delayed until the row is due."""
    app.config["SEND_RETRY_DELAY"] = 1.5
    people(make, news, 1)
    smtp_sink.refuse["p0@example.com"] = "451 4.3.0 Later"
    issue = make_issue(make, [news])
    send_issue(issue, "test", dispatch=True)
    deadline = time.monotonic() + 10
    while statuses(issue) != {"p0@example.com": "queued"} or not smtp_sink.refuse:
        assert time.monotonic() < deadline
        if db.session.scalar(sa.select(Delivery.attempts)) == 1:
            break
        time.sleep(0.05)
    del smtp_sink.refuse["p0@example.com"]
    stub_broker.join(QUEUE_DELIVERY)
    stub_worker.join()
    smtp_sink.wait_for(1)
    assert statuses(issue) == {"p0@example.com": "sent"}
