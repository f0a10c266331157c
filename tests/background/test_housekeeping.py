"""The product's periodic jobs: registered with the runner, and doing their work when run."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

import newsletter.background.housekeeping
from newsletter.background.periodic import JOB_MODULES, REGISTRY, PeriodicRunner
from newsletter.extensions import db
from newsletter.models import ConsentEvent, Subscriber, Subscription
from newsletter.models.base import utcnow
from tests.support.subscribing import events, person, sign_up


def age_sign_up(email: str, days: int) -> None:
    """Make a person's sign-up `days` old, as if it had been made then."""
    subscriber = person(email)
    then = utcnow() - timedelta(days=days)
    db.session.execute(
        update(Subscription)
        .where(Subscription.subscriber_id == subscriber.id)
        .values(created_at=then)
    )
    db.session.execute(
        update(Subscriber).where(Subscriber.id == subscriber.id).values(created_at=then)
    )
    db.session.commit()
    age_events(email, days)


def age_events(email: str, days: int) -> None:
    """Make a person's consent events `days` old."""
    then = utcnow() - timedelta(days=days)
    db.session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.subscriber_id == person(email).id)
        .values(recorded_at=then, occurred_at=then)
    )
    db.session.commit()


def run(job_name: str) -> None:
    REGISTRY[job_name].func()


def test_runner_loads_the_product_jobs():
    """Runners import newsletter.background.housekeeping, which registers both jobs."""
    assert "newsletter.background.housekeeping" in JOB_MODULES
    assert (
        REGISTRY["purge_stale_signups"].func
        is newsletter.background.housekeeping.purge_stale_signups_job
    )
    assert REGISTRY["blank_old_request_details"].func is (
        newsletter.background.housekeeping.blank_old_request_details_job
    )


def test_jobs_run_often_enough():
    """The purge runs hourly and the blanking every six hours."""
    assert REGISTRY["purge_stale_signups"].every == timedelta(hours=1)
    assert REGISTRY["blank_old_request_details"].every == timedelta(hours=6)


def test_the_hourly_job_mends_a_wrong_suppressed_flag(make, news):
    """A flag gone wrong (a suppression racing the person's creation) is put right."""
    from newsletter import suppression
    from newsletter.models import SuppressionReason

    ann = make.subscriber("ann@example.com", lists=[news])
    suppression.suppress("ann@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.execute(update(Subscriber).values(suppressed=False))  # as if raced
    db.session.commit()
    assert REGISTRY["sync_suppressed_flags"].every == timedelta(hours=1)
    REGISTRY["sync_suppressed_flags"].func()
    db.session.expire_all()
    assert db.session.get(Subscriber, ann.id).suppressed is True


def test_purge_job_deletes_a_form_sign_up_unconfirmed_for_30_days(client, news):
    """A sign-up through the form never confirmed is gone after 30 days, with its events."""
    sign_up(client, "stale@example.com", "news")
    age_sign_up("stale@example.com", 31)
    run("purge_stale_signups")
    assert person("stale@example.com") is None
    assert db.session.query(ConsentEvent).count() == 0


def test_purge_job_keeps_recent_and_confirmed_people(client, make, news):
    """A sign-up of 29 days and a confirmed person of long ago both stay."""
    sign_up(client, "recent@example.com", "news")
    age_sign_up("recent@example.com", 29)
    make.subscriber("old@example.com", lists=[news])
    age_sign_up("old@example.com", 400)
    run("purge_stale_signups")
    assert person("recent@example.com") is not None
    assert person("old@example.com") is not None


def test_purge_job_logs_what_it_removed(client, news, caplog):
    """The count goes to the log, the addresses do not."""
    sign_up(client, "stale@example.com", "news")
    age_sign_up("stale@example.com", 31)
    with caplog.at_level(logging.INFO, logger="newsletter.background.housekeeping"):
        run("purge_stale_signups")
    assert "1 unconfirmed sign-ups lapsed" in caplog.text
    assert "stale@example.com" not in caplog.text


def test_blank_job_blanks_ip_and_agent_after_two_years(client, news):
    """Events older than 730 days lose IP and user agent and keep everything else."""
    sign_up(client, "old@example.com", "news", ip="192.0.2.7")
    sign_up(client, "new@example.com", "news", ip="192.0.2.8")
    age_events("old@example.com", 731)
    run("blank_old_request_details")
    [old] = events("old@example.com")
    assert (old.ip_address, old.user_agent) == (None, None)
    assert (old.action, old.method, old.source) == ("requested", "form", "/subscribe")
    assert old.wording_version
    [new] = events("new@example.com")
    assert new.ip_address == "192.0.2.8"


class TestWithShorterRetention:
    """CONSENT_DETAILS_RETENTION_DAYS sets the period."""

    @pytest.fixture
    def config_overrides(self):
        return {"CONSENT_DETAILS_RETENTION_DAYS": 30}

    def test_blank_job_follows_the_configured_period(self, client, news):
        """With 30 days configured, a 31-day-old event is blanked."""
        sign_up(client, "ann@example.com", "news")
        age_events("ann@example.com", 31)
        run("blank_old_request_details")
        assert events("ann@example.com")[0].ip_address is None


def test_a_runner_with_the_default_jobs_does_the_purge(app, client, news):
    """A runner started as serve and workers start it runs the purge by itself."""
    sign_up(client, "stale@example.com", "news")
    age_sign_up("stale@example.com", 31)
    runner = PeriodicRunner(app, interval=0.05, lease_ttl=timedelta(seconds=30))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while person("stale@example.com") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert person("stale@example.com") is None
