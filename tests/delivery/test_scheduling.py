"""Scheduling: stored in UTC, started by the scheduler job on time or late after downtime."""

from datetime import UTC, datetime, timedelta

import pytest

import newsletter.background.housekeeping  # noqa: F401  (registers the scheduler job)
from newsletter.background.periodic import REGISTRY, PeriodicRunner
from newsletter.compose.times import uk_time, uk_to_utc
from newsletter.delivery.scheduling import schedule_issue, start_due_issues, unschedule_issue
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import Delivery, Issue, IssueStatus
from tests.factories import make_issue, send_here

# A frozen clock: every call below is told the time instead of reading it.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_uk_time_is_stored_as_utc_in_winter_and_summer():
    """09:30 in December is 09:30 UTC (GMT); in July it is 08:30 UTC (BST)."""
    assert uk_to_utc("2026-12-01", "09:30") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert uk_to_utc("01/07/2027", "9:30am") == datetime(2027, 7, 1, 8, 30, tzinfo=UTC)
    assert uk_time(datetime(2027, 7, 1, 8, 30, tzinfo=UTC)) == "1 July 2027 at 09:30 (BST)"


def test_a_time_the_clocks_skip_is_refused():
    """01:30 on the last Sunday of March does not exist in the UK."""
    with pytest.raises(ValidationError, match="does not exist"):
        uk_to_utc("2027-03-28", "01:30")


def test_only_a_future_time_can_be_scheduled(app, news, make):
    """A time already past is refused and the issue stays a draft."""
    issue = make_issue(make, [news])
    with pytest.raises(ValidationError, match="future"):
        schedule_issue(issue, NOW - timedelta(minutes=1), actor="test", now=NOW)
    assert issue.status == IssueStatus.DRAFT


def test_the_scheduler_starts_an_issue_when_its_time_comes(app, news, make):
    """Before the time nothing happens; at the time the ledger is written and sending starts."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    schedule_issue(issue, NOW + timedelta(hours=1), actor="test", now=NOW)
    assert start_due_issues(now=NOW + timedelta(minutes=59)) == []
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SCHEDULED
    assert start_due_issues(now=NOW + timedelta(hours=1)) == [issue.id]
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SENDING
    assert db.session.query(Delivery).filter_by(issue_id=issue.id).count() == 1


def test_an_issue_whose_time_passed_while_down_starts_when_back(app, news, make):
    """Scheduled for 10:00, nothing ran until 13:00: it starts at the first look, once."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    schedule_issue(issue, NOW + timedelta(hours=1), actor="test", now=NOW)
    assert start_due_issues(now=NOW + timedelta(hours=4)) == [issue.id]
    assert start_due_issues(now=NOW + timedelta(hours=4)) == []
    assert db.session.query(Delivery).filter_by(issue_id=issue.id).count() == 1


def test_a_cancelled_schedule_never_starts(app, news, make):
    """Cancelling the schedule returns the issue to draft; the scheduler leaves it alone."""
    issue = make_issue(make, [news])
    schedule_issue(issue, NOW + timedelta(hours=1), actor="test", now=NOW)
    unschedule_issue(issue, actor="test")
    assert issue.status == IssueStatus.DRAFT and issue.scheduled_at is None
    assert start_due_issues(now=NOW + timedelta(days=1)) == []


def test_a_new_runner_after_a_restart_starts_the_due_issue(app, news, make, smtp_sink):
    """A fresh periodic runner (the app came back) runs the scheduler job; the mail goes out."""
    make.subscriber(email="ann@example.com", lists=[news])
    issue = make_issue(make, [news], subject="Scheduled news")
    real_now = datetime.now(UTC)
    schedule_issue(
        issue, real_now - timedelta(minutes=5), actor="test", now=real_now - timedelta(hours=1)
    )
    runner = PeriodicRunner(app, interval=0.05, jobs=[REGISTRY["start_scheduled_issues"]])
    runner.tick()
    runner.stop()
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SENDING
    send_here(issue)
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Scheduled news"


def test_a_scheduled_issue_with_a_broken_placeholder_goes_back_to_draft(app, news, make):
    """Text stored before placeholders were checked is not sent; the issue waits as a draft."""
    issue = make_issue(make, [news])
    schedule_issue(issue, NOW + timedelta(hours=1), actor="test", now=NOW)
    db.session.execute(
        Issue.__table__.update().where(Issue.id == issue.id).values(body_markdown="{{ nope }}")
    )
    db.session.commit()
    assert start_due_issues(now=NOW + timedelta(hours=2)) == []
    db.session.refresh(issue)
    assert issue.status == IssueStatus.DRAFT
    assert db.session.query(Delivery).count() == 0
