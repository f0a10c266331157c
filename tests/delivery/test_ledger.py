"""The ledger: one row per confirmed recipient, written in one statement when sending starts."""

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.compose.issues import IssueStateError
from newsletter.delivery.control import send_issue
from newsletter.delivery.ledger import due_ranges
from newsletter.extensions import db
from newsletter.models import Delivery, IssueStatus, SuppressionReason
from tests.factories import make_issue, start, statuses


def test_ledger_has_one_queued_row_per_confirmed_subscriber(make):
    """Confirmed subscribers get a queued row; pending and unsubscribed people do not."""
    news = make.list(slug="news")
    make.subscriber(email="a@example.com", lists=[news])
    make.subscriber(email="b@example.com", lists=[news], status="pending")
    make.subscriber(email="c@example.com", lists=[news], status="unsubscribed")
    issue = make_issue(make, [news])
    assert start(issue) == 1
    assert statuses(issue) == {"a@example.com": "queued"}
    assert issue.status == IssueStatus.SENDING


def test_someone_on_several_lists_of_the_issue_gets_one_row(make):
    """DISTINCT: a person on both lists is one recipient."""
    news, events = make.list(slug="news"), make.list(slug="events")
    make.subscriber(email="both@example.com", lists=[news, events])
    make.subscriber(email="events@example.com", lists=[events])
    issue = make_issue(make, [news, events])
    assert start(issue) == 2
    assert sorted(statuses(issue)) == ["both@example.com", "events@example.com"]


def test_suppressed_addresses_are_left_out_of_the_ledger(make):
    """An address with a standing suppression reason gets no row."""
    news = make.list(slug="news")
    make.subscriber(email="ok@example.com", lists=[news])
    gone = make.subscriber(email="gone@example.com", lists=[news])
    suppression.suppress(gone.email_key, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    issue = make_issue(make, [news])
    assert start(issue) == 1
    assert list(statuses(issue)) == ["ok@example.com"]


def test_a_lifted_suppression_no_longer_leaves_anyone_out(make):
    """Only reasons not lifted count."""
    news = make.list(slug="news")
    back = make.subscriber(email="back@example.com", lists=[news])
    suppression.suppress(back.email_key, SuppressionReason.MANUAL)
    suppression.lift(back.email_key, {SuppressionReason.MANUAL}, by="admin")
    db.session.commit()
    issue = make_issue(make, [news])
    assert start(issue) == 1


def test_an_issue_cannot_be_sent_twice(make):
    """The second send is refused and writes no second ledger."""
    news = make.list(slug="news")
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    with pytest.raises(IssueStateError, match="sending"):
        send_issue(issue, "test", dispatch=False)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 1


def test_an_issue_with_no_recipients_is_sent_at_once(make):
    """Nobody to mail: the issue is finished straight away."""
    issue = make_issue(make, [make.list(slug="empty")])
    assert start(issue) == 0
    assert issue.status == IssueStatus.SENT


def test_due_ranges_cut_the_ledger_into_batches_by_id(app, make):
    """Batches are consecutive id ranges of at most SEND_BATCH_SIZE queued rows."""
    news = make.list(slug="news")
    for _ in range(5):
        make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    ids = sorted(db.session.scalars(sa.select(Delivery.id)))
    assert due_ranges(issue.id, 2) == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]
