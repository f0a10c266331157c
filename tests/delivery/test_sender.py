"""Sending batches: every recipient mailed once, failures sorted, control honoured."""

import pytest
from sqlalchemy import select

from newsletter import suppression
from newsletter.consent import Origin
from newsletter.delivery import sender
from newsletter.delivery.control import cancel, pause, pause_issue, resume
from newsletter.delivery.sender import send_batch
from newsletter.extensions import db
from newsletter.models import Bounce, ConsentMethod, Delivery, IssueStatus, SuppressionReason
from newsletter.subscriptions.unsubscribe import unsubscribe
from tests.factories import mailed_issue, make_issue, send_here, start, statuses


@pytest.fixture
def config_overrides():
    return {"SEND_RETRY_DELAY": 0.0, "SEND_MAX_ATTEMPTS": 3, "SEND_PAUSE_AFTER_FAILURES": 4}


def test_every_recipient_gets_the_issue_once(app, make, news, smtp_sink):
    """All rows end sent and the sink got one message per address."""
    emails = [f"p{n}@example.com" for n in range(12)]
    for email in emails:
        make.subscriber(email=email, lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert sorted(smtp_sink.recipients()) == sorted(emails)
    assert set(statuses(issue).values()) == {"sent"}


def test_a_4xx_reply_is_retried_and_then_succeeds(app, make, news, smtp_sink):
    """A temporary refusal requeues the row; the next attempt gets through."""
    make.subscriber(email="later@example.com", lists=[news])
    smtp_sink.refuse["later@example.com"] = "451 4.3.0 Try again later"
    issue = make_issue(make, [news])
    start(issue)

    send_batch(issue.id, 0, 10**9)
    assert statuses(issue) == {"later@example.com": "queued"}
    del smtp_sink.refuse["later@example.com"]
    assert send_here(issue) == IssueStatus.SENT
    assert smtp_sink.recipients() == ["later@example.com"]


def test_a_row_fails_after_the_configured_attempts(app, make, news, smtp_sink):
    """Three 4xx replies in a row and the row is failed with the reply kept."""
    make.subscriber(email="busy@example.com", lists=[news])
    make.subscriber(email="fine@example.com", lists=[news])
    smtp_sink.refuse["busy@example.com"] = "452 4.2.2 Mailbox full"
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert statuses(issue) == {"busy@example.com": "failed", "fine@example.com": "sent"}
    row = db.session.query(Delivery).filter_by(email="busy@example.com").one()
    assert row.attempts == 3 and "452" in row.last_error


def test_a_5xx_on_rcpt_fails_at_once_and_5_1_x_suppresses(app, make, news, smtp_sink):
    """550 5.1.1: failed after one attempt, and the address joins the suppression list."""
    gone = make.subscriber(email="gone@example.com", lists=[news])
    make.subscriber(email="policy@example.com", lists=[news])
    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 No such user"
    smtp_sink.refuse["policy@example.com"] = "554 5.7.1 Rejected by policy"
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert statuses(issue) == {"gone@example.com": "failed", "policy@example.com": "failed"}
    assert suppression.active_reasons(gone.email_key) == {SuppressionReason.HARD_BOUNCE}
    assert suppression.active_reasons("policy@example.com") == set()


def test_a_refusal_at_rcpt_is_on_the_persons_bounces(app, make, news, smtp_sink):
    """The subscriber page's bounces include the synchronous 5.1.1 of the relay."""
    gone = make.subscriber(email="gone@example.com", lists=[news])
    smtp_sink.refuse["gone@example.com"] = "550 5.1.1 No such user"
    issue = mailed_issue(make, [news])
    bounce = db.session.scalars(select(Bounce)).one()
    assert (bounce.subscriber_id, bounce.issue_id, bounce.kind.value) == (gone.id, issue.id, "hard")


def test_a_dropped_connection_is_retried_on_a_new_one(app, make, news, smtp_sink):
    """The relay hangs up mid-message: that row is retried, the rest go on."""
    for n in range(4):
        make.subscriber(email=f"p{n}@example.com", lists=[news])
    smtp_sink.drop_connections = 1
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert set(statuses(issue).values()) == {"sent"}
    assert sorted(smtp_sink.recipients()) == [f"p{n}@example.com" for n in range(4)]


def test_consecutive_failures_pause_the_issue_with_a_reason(app, make, news):
    """The relay is down: after SEND_PAUSE_AFTER_FAILURES failures the issue pauses itself."""
    for _ in range(10):
        make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.PAUSED
    db.session.refresh(issue)
    assert "4 failures in a row" in issue.pause_reason
    assert "cannot connect" in issue.pause_reason
    assert "sent" not in statuses(issue).values()


def test_someone_who_unsubscribed_since_is_skipped(app, make, news, smtp_sink):
    """Leaving after the ledger was written: the row is skipped, nobody mails them."""
    make.subscriber(email="stay@example.com", lists=[news])
    leaver = make.subscriber(email="leave@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    unsubscribe(leaver, ConsentMethod.ONE_CLICK, Origin("test"))
    assert send_here(issue) == IssueStatus.SENT
    assert statuses(issue) == {"stay@example.com": "sent", "leave@example.com": "skipped"}
    assert smtp_sink.recipients() == ["stay@example.com"]


def test_someone_suppressed_since_is_skipped(app, make, news, smtp_sink):
    """A suppression given after the ledger was written also skips the row."""
    person = make.subscriber(email="p@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    suppression.suppress(person.email_key, SuppressionReason.COMPLAINT)
    db.session.commit()
    send_here(issue)
    assert statuses(issue) == {"p@example.com": "skipped"}
    assert smtp_sink.messages == []


def test_a_paused_issue_sends_nothing_until_resumed(app, make, news, smtp_sink):
    """Pause stops batches; resume carries on with what is left."""
    make.subscriber(email="a@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    pause(issue, "test")
    assert send_batch(issue.id, 0, 10**9).stopped == IssueStatus.PAUSED
    assert smtp_sink.messages == []
    resume(issue, "test", dispatch=False)
    assert send_here(issue) == IssueStatus.SENT
    assert smtp_sink.recipients() == ["a@example.com"]


def test_cancel_marks_what_is_left_cancelled(app, make, news, smtp_sink):
    """A cancelled issue's queued rows are cancelled and never sent."""
    for _ in range(3):
        make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert cancel(issue, "test") == 3
    assert send_here(issue) == IssueStatus.CANCELLED
    assert set(statuses(issue).values()) == {"cancelled"}
    assert smtp_sink.messages == []


def test_pause_takes_effect_within_a_batch(app, make, news, smtp_sink, monkeypatch):
    """Pausing while a batch runs stops it within a few messages; the rest stay queued."""
    for _ in range(40):
        make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    real_send_one = sender.Batch.send_one
    calls = []

    def send_one_then_pause(self, transport, recipient):
        calls.append(recipient)
        if len(calls) == 3:
            pause_issue(issue.id, "test")
        real_send_one(self, transport, recipient)

    monkeypatch.setattr(sender.Batch, "send_one", send_one_then_pause)
    result = sender.send_batch(issue.id, 0, 10**9)
    assert result.stopped == IssueStatus.PAUSED
    counts = list(statuses(issue).values())
    assert counts.count("sent") <= 3 + sender.RECORD_EVERY
    assert counts.count("queued") == 40 - counts.count("sent")
