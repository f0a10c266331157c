"""Old delivery rows folded into per-issue counts: the rows (and addresses) go, the counts stay."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from newsletter.background.periodic import REGISTRY
from newsletter.delivery.control import progress
from newsletter.delivery.counts import fold_old_deliveries
from newsletter.extensions import db
from newsletter.models import Bounce, BounceKind, Delivery, DeliveryStatus, Issue
from tests.factories import sent_issue


def row_count(issue_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Delivery).where(Delivery.issue_id == issue_id)
    )


def test_rows_older_than_the_period_become_counts(make, news):
    """A three-year-old issue keeps sent 2, bounced 1, recipients 3; its rows are gone."""
    for n in range(3):
        make.subscriber(f"p{n}@example.com", lists=[news])
    S, B = DeliveryStatus.SENT, DeliveryStatus.BOUNCED
    old = sent_issue(make, [news], "Old news", statuses=[S, S, B], age_days=3 * 365)
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
    recent = sent_issue(make, [news], "Recent", statuses=[DeliveryStatus.SENT] * 2, age_days=30)
    # The second row stays queued.
    old = sent_issue(make, [news], "Old", statuses=[DeliveryStatus.SENT], age_days=800)
    assert fold_old_deliveries() == 1
    assert row_count(recent.id) == 2
    assert row_count(old.id) == 1
    counts = progress(old)
    assert (counts.recipients, counts.counts["sent"], counts.counts["queued"]) == (2, 1, 1)


def test_folding_twice_counts_nothing_twice(make, news):
    make.subscriber("p@example.com", lists=[news])
    old = sent_issue(make, [news], "Old", statuses=[DeliveryStatus.SENT], age_days=1000)
    fold_old_deliveries()
    assert fold_old_deliveries() == 0
    assert progress(old).counts["sent"] == 1


def test_the_period_is_configurable(app, make, news):
    """DELIVERY_RETENTION_DAYS=10 folds an issue of 30 days ago."""
    app.config["DELIVERY_RETENTION_DAYS"] = 10
    make.subscriber("p@example.com", lists=[news])
    issue = sent_issue(make, [news], "Last month", statuses=[DeliveryStatus.SENT], age_days=30)
    assert fold_old_deliveries() == 1
    assert progress(issue).counts["sent"] == 1


def test_a_bounce_outlives_its_folded_delivery(make, news):
    """The person's bounce stays on their record, unlinked from the row that is gone."""
    person = make.subscriber("p@example.com", lists=[news])
    old = sent_issue(make, [news], "Old", statuses=[DeliveryStatus.BOUNCED], age_days=1000)
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
    # Imported here: importing the module is what registers its periodic jobs.
    import newsletter.background.housekeeping  # noqa: F401

    assert REGISTRY["fold_old_deliveries"].every == timedelta(hours=6)
