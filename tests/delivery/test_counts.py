"""Old delivery rows folded into per-issue counts: the rows (and addresses) go, the counts stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.delivery.counts import fold_old_deliveries
from newsletter.extensions import db
from newsletter.issues import progress
from newsletter.models import Bounce, BounceKind, Delivery, DeliveryStatus, Issue
from newsletter.models.base import utcnow
from newsletter.periodic import REGISTRY
from tests.delivery.helpers import make_issue, start


@pytest.fixture
def news(make):
    return make.list("news")


def sent_issue(make, news, subject: str, age_days: int, statuses: list[DeliveryStatus]):
    issue = make_issue(make, [news], subject=subject)
    start(issue)
    rows = db.session.scalars(
        sa.select(Delivery).where(Delivery.issue_id == issue.id).order_by(Delivery.id)
    ).all()
    for row, status in zip(rows, statuses, strict=False):
        row.status = status
    issue.started_at = utcnow() - timedelta(days=age_days)
    db.session.commit()
    return issue


def row_count(issue_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Delivery).where(Delivery.issue_id == issue_id)
    )


def test_rows_older_than_the_period_become_counts(make, news):
    """A three-year-old issue keeps sent 2, bounced 1, recipients 3; its rows are gone."""
    for n in range(3):
        make.subscriber(f"p{n}@example.com", lists=[news])
    S, B = DeliveryStatus.SENT, DeliveryStatus.BOUNCED
    old = sent_issue(make, news, "Old news", 3 * 365, [S, S, B])
    before = progress(old).as_dict()

    assert fold_old_deliveries() == 3
    db.session.expire_all()
    assert row_count(old.id) == 0
    assert progress(db.session.get(Issue, old.id)).as_dict() == before
    assert (before["recipients"], before["sent"], before["bounced"]) == (3, 2, 1)


def test_recent_issues_and_unsettled_rows_are_kept(make, news):
    """Rows of a recent issue stay, as do queued rows of an old one (still to be sent)."""
    for n in range(2):
        make.subscriber(f"p{n}@example.com", lists=[news])
    recent = sent_issue(make, news, "Recent", 30, [DeliveryStatus.SENT] * 2)
    old = sent_issue(make, news, "Old", 800, [DeliveryStatus.SENT])  # second row still queued
    assert fold_old_deliveries() == 1
    assert row_count(recent.id) == 2
    assert row_count(old.id) == 1
    counts = progress(old)
    assert (counts.recipients, counts.counts["sent"], counts.counts["queued"]) == (2, 1, 1)


def test_folding_twice_counts_nothing_twice(make, news):
    make.subscriber("p@example.com", lists=[news])
    old = sent_issue(make, news, "Old", 1000, [DeliveryStatus.SENT])
    fold_old_deliveries()
    assert fold_old_deliveries() == 0
    assert progress(old).counts["sent"] == 1


def test_the_period_is_configurable(app, make, news):
    """DELIVERY_RETENTION_DAYS=10 folds an issue of 30 days ago."""
    app.config["DELIVERY_RETENTION_DAYS"] = 10
    make.subscriber("p@example.com", lists=[news])
    issue = sent_issue(make, news, "Last month", 30, [DeliveryStatus.SENT])
    assert fold_old_deliveries() == 1
    assert progress(issue).counts["sent"] == 1


def test_a_bounce_outlives_its_folded_delivery(make, news):
    """The person's bounce stays on their record, unlinked from the row that is gone."""
    person = make.subscriber("p@example.com", lists=[news])
    old = sent_issue(make, news, "Old", 1000, [DeliveryStatus.BOUNCED])
    delivery = db.session.scalars(sa.select(Delivery)).one()
    db.session.add(
        Bounce(subscriber_id=person.id, issue_id=old.id, delivery_id=delivery.id,
               kind=BounceKind.HARD)
    )  # fmt: skip
    db.session.commit()
    fold_old_deliveries()
    db.session.expire_all()
    bounce = db.session.scalars(sa.select(Bounce)).one()
    assert (bounce.delivery_id, bounce.issue_id) == (None, old.id)


def test_the_periodic_runner_has_the_folding_job():
    import newsletter.jobs  # noqa: F401

    assert REGISTRY["fold_old_deliveries"].every == timedelta(hours=6)
