"""A batch's claim: renewed while it works, lapsed when it stops, and only its own rows move."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.delivery import heartbeat
from newsletter.delivery.sender import send_batch
from newsletter.delivery.store import store_for
from newsletter.delivery.sweep import release_stale_claims
from newsletter.delivery.types import BatchScope, Outcome
from newsletter.extensions import db
from newsletter.models import Delivery, DeliveryStatus, IssueStatus
from newsletter.models.base import utcnow
from newsletter.suppression import hasher
from tests.factories import make_issue, send_here, start, statuses


@pytest.fixture
def issue(make, news):
    """A sending issue of three people, its ledger written, nothing enqueued."""
    for n in range(3):
        make.subscriber(email=f"p{n}@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    return issue


def store_as(owner: str, issue, news):
    """The dialect's own store for a batch `owner` over the whole issue."""
    scope = BatchScope(issue.id, 0, 10**9, owner, [news.id], reconfirmation=False)
    return store_for(db.engine, scope, hasher())


def claim_as(owner: str, issue, news) -> list[int]:
    """Claim the issue's queued rows as batch `owner`, through the dialect's own claim path."""
    store = store_as(owner, issue, news)
    try:
        return [recipient.delivery_id for recipient in store.claim(50).recipients]
    finally:
        store.close()


def record_as(owner: str, issue, news, outcomes: list[Outcome]) -> None:
    """Record `outcomes` as batch `owner`, as a batch does on this dialect."""
    store = store_as(owner, issue, news)
    try:
        store.record(outcomes, progress=False)
    finally:
        store.close()


def record_sent_as(owner: str, issue, news, ids: list[int]) -> None:
    record_as(owner, issue, news, [Outcome(i, DeliveryStatus.SENT) for i in ids])


def worker_died_long_ago() -> None:
    """The claims' last renewal an hour ago, as a dead worker's would be."""
    db.session.execute(sa.update(Delivery).values(claimed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def claimers(issue) -> dict[str, tuple[str, str | None]]:
    rows = db.session.execute(
        sa.select(Delivery.email, Delivery.status, Delivery.claimed_by).where(
            Delivery.issue_id == issue.id
        )
    )
    result = {email: (status.value, owner) for email, status, owner in rows}
    db.session.commit()
    return result


def test_a_row_claimed_again_takes_no_outcome_from_the_batch_that_lost_it(app, issue, news):
    """A freed row claimed by a second batch: the first batch's late outcomes move nothing."""
    first = claim_as("first", issue, news)
    worker_died_long_ago()
    assert release_stale_claims() == {issue.id}
    assert sorted(claim_as("second", issue, news)) == sorted(first)
    record_sent_as("first", issue, news, first[:1])
    # A give-back (a pause) would put the row in the queue under the second batch's feet.
    record_as("first", issue, news, [Outcome(first[1], DeliveryStatus.QUEUED, untried=True)])
    assert set(claimers(issue).values()) == {("sending", "second")}
    record_sent_as("second", issue, news, first)
    assert set(statuses(issue).values()) == {"sent"}


def test_a_late_outcome_of_a_freed_row_nobody_claimed_again_still_counts(app, issue, news):
    """The sweep freed a live batch's rows; its `sent` still lands, so no one mails them again."""
    first = claim_as("first", issue, news)
    worker_died_long_ago()
    release_stale_claims()
    record_sent_as("first", issue, news, first)
    assert set(statuses(issue).values()) == {"sent"}


def test_a_slow_batch_keeps_its_rows_while_the_sweep_runs(app, issue, smtp_sink):
    """Each message takes longer than the claim time-out; the sweep never frees a row."""
    app.config["SEND_CLAIM_TIMEOUT"] = 1.2
    smtp_sink.data_delay = 1.8
    issue_id = issue.id

    def send():
        with app.app_context():
            send_batch(issue_id, 0, 10**9)

    batch = threading.Thread(target=send)
    batch.start()
    released = set()
    while batch.is_alive():
        released |= release_stale_claims()
        batch.join(0.05)
    assert released == set()
    assert sorted(smtp_sink.recipients()) == [f"p{n}@example.com" for n in range(3)]
    assert set(statuses(issue).values()) == {"sent"}


def test_a_batch_that_takes_no_step_lets_its_claim_lapse_and_stops(
    app, issue, smtp_sink, monkeypatch
):
    """No step within WEDGED_SECONDS: renewals stop, and the batch stops after the message
    in flight, handing its range back; the next batch mails the rest, each person once."""
    monkeypatch.setattr(heartbeat, "WEDGED_SECONDS", 0.2)
    app.config["SEND_CLAIM_TIMEOUT"] = 0.9
    smtp_sink.data_delay = 2.0
    result = send_batch(issue.id, 0, 10**9)
    assert result.stopped == IssueStatus.SENDING and result.retry_at is not None
    assert statuses(issue) == {
        "p0@example.com": "sent", "p1@example.com": "queued", "p2@example.com": "queued",
    }  # fmt: skip
    smtp_sink.data_delay = 0.0
    assert send_here(issue) == IssueStatus.SENT
    assert sorted(smtp_sink.recipients()) == [f"p{n}@example.com" for n in range(3)]
