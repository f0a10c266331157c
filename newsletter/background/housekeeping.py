"""What the periodic runner runs, and how often: purges, retention, the delivery and webhooks
sweeps and the scheduler. Each job is idempotent, as a stalled leader may overlap its successor."""

from __future__ import annotations

import logging
from datetime import timedelta

from newsletter.background.periodic import periodic_job
from newsletter.delivery.counts import fold_old_deliveries
from newsletter.delivery.scheduling import start_due_issues
from newsletter.delivery.sweep import sweep
from newsletter.extensions import db
from newsletter.imports.retention import blank_old_import_evidence, delete_old_uploads
from newsletter.subscriptions.retention import blank_old_request_details, purge_stale_signups
from newsletter.suppression import sync_flags
from newsletter.webhooks.dispatch import sweep as webhooks_sweep

logger = logging.getLogger(__name__)


@periodic_job("purge_stale_signups", every=timedelta(hours=1))
def purge_stale_signups_job() -> None:
    lapsed = purge_stale_signups()
    if lapsed:
        logger.info("%d unconfirmed sign-ups lapsed after 30 days", lapsed)


@periodic_job("blank_old_request_details", every=timedelta(hours=6))
def blank_old_request_details_job() -> None:
    blanked = blank_old_request_details()
    if blanked:
        logger.info("blanked IP address and user agent of %d old consent events", blanked)


@periodic_job("blank_old_import_evidence", every=timedelta(hours=6))
def blank_old_import_evidence_job() -> None:
    blanked = blank_old_import_evidence()
    if blanked:
        logger.info("removed evidence IP addresses from %d old import events", blanked)


@periodic_job("delete_old_uploads", every=timedelta(minutes=10))
def delete_old_uploads_job() -> None:
    """Uploaded import files (every address and name of a list) go once their import is done,
    and IMPORT_UPLOAD_RETENTION_HOURS after the upload at the latest."""
    deleted = delete_old_uploads()
    if deleted:
        logger.info("deleted %d stored import uploads", deleted)


@periodic_job("delivery_sweep", every=timedelta(seconds=0))
def delivery_sweep_job() -> None:
    """Every tick: stalled batches are enqueued again, stale claims released.

    The database is the truth and the queue only says "go look": a lost message or a killed
    worker delays mail until this finds the rows that stopped moving.
    """
    sweep()


@periodic_job("webhooks_sweep", every=timedelta(seconds=0))
def webhooks_sweep_job() -> None:
    """Every tick: endpoints whose due webhook deliveries nobody took (a lost message, a dead
    worker, a retry's delayed message gone with Redis) get a delivery message again."""
    webhooks_sweep()


@periodic_job("start_scheduled_issues", every=timedelta(seconds=0))
def start_scheduled_issues_job() -> None:
    """Every tick: start scheduled issues whose time has come, or passed while all was down."""
    started = start_due_issues()
    if started:
        logger.info("started scheduled issues %s", ", ".join(map(str, started)))


@periodic_job("fold_old_deliveries", every=timedelta(hours=6))
def fold_old_deliveries_job() -> None:
    """Delivery rows past DELIVERY_RETENTION_DAYS become per-issue counts (they hold addresses)."""
    folded = fold_old_deliveries()
    if folded:
        logger.info("folded %d old delivery rows into per-issue counts", folded)


@periodic_job("sync_suppressed_flags", every=timedelta(hours=1))
def sync_suppressed_flags_job() -> None:
    """The subscribers page's "suppressed" flags, mended where they went wrong.

    Every change keeps them right in its own transaction; a person created at the same moment
    as their address is suppressed, in another transaction, can still miss it. The flag is
    display-only (mail is held on the suppression list itself), so an hour is soon enough."""
    sync_flags()
    db.session.commit()
