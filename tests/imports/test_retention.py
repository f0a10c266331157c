"""What imports keep is kept only as long as needed: evidence IP addresses carried over by an
import are removed after the retention period, uploaded files once their import is done."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from newsletter.background import housekeeping
from newsletter.background.periodic import REGISTRY
from newsletter.extensions import db
from newsletter.imports import jobs, uploads
from newsletter.imports.reading import RecordStream
from newsletter.imports.retention import blank_old_import_evidence, delete_old_uploads
from newsletter.imports.sources import open_bytes
from newsletter.models import (
    ConsentEvent,
    ConsentMode,
    ImportFile,
    ImportJob,
    ImportStatus,
)
from newsletter.models.base import utcnow
from tests.factories import export_file


def test_old_import_events_lose_their_evidence_ip_addresses_only(run_import, news):
    """OPTIN_IP and CONFIRM_IP go; the times and everything else stay; new events untouched."""
    run_import(export_file("subscribed_members_export.csv"))
    old = utcnow() - timedelta(days=800)
    db.session.execute(
        update(ConsentEvent).where(ConsentEvent.id.in_(select(ConsentEvent.id).limit(2)))
        .values(recorded_at=old)
    )  # fmt: skip
    db.session.commit()
    assert blank_old_import_evidence() == 2
    db.session.expire_all()
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    for event in events[:2]:
        assert not {"OPTIN_IP", "CONFIRM_IP"} & set(event.detail["evidence"])
        assert "OPTIN_TIME" in event.detail["evidence"] and event.detail["sha256"]
    assert "CONFIRM_IP" in events[2].detail["evidence"]
    assert blank_old_import_evidence() == 0


# Uploaded files: kept only while an import may still need them.


def waiting_upload(news, content: bytes = b"email,name\nann@example.com,Ann\n") -> ImportJob:
    """An uploaded file kept with its queued job, as the upload page leaves it for a worker."""
    source = open_bytes("people.csv", content)
    return jobs.create_job(
        source, RecordStream(source), news, ConsentMode.KEEP, actor="test", content=content
    )


def test_an_upload_never_imported_is_deleted_after_the_retention_hours(news, admin_client):
    """Past IMPORT_UPLOAD_RETENTION_HOURS the file goes; its job fails saying why, and the
    job page says the file is gone instead of offering to resume."""
    job = waiting_upload(news)
    assert delete_old_uploads(now=utcnow() + timedelta(hours=23)) == 0
    assert db.session.get(ImportFile, job.id) is not None
    assert delete_old_uploads(now=utcnow() + timedelta(hours=25)) == 1
    db.session.expire_all()
    assert db.session.get(ImportFile, job.id) is None
    job = db.session.get(ImportJob, job.id)
    assert job.status is ImportStatus.FAILED and job.file_deleted_at is not None
    assert job.error == "its uploaded file was deleted after 24 hours without being imported"
    page = admin_client.get(f"/admin/imports/{job.id}").get_data(as_text=True)
    assert "The uploaded file was deleted on" in page
    assert "cannot resume: upload the file again" in page
    assert "It resumes where it stopped" not in page


def test_a_worker_given_a_job_whose_file_went_says_so(news, app):
    """The actor's run of such a job ends with a sentence, not a traceback."""
    job = waiting_upload(news)
    delete_old_uploads(now=utcnow() + timedelta(hours=25))
    uploads.run_uploaded_job(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status is ImportStatus.FAILED
    assert job.error.endswith("has been deleted; upload it again")


def test_the_retention_hours_come_from_the_setting(news, app):
    """IMPORT_UPLOAD_RETENTION_HOURS shortens (or lengthens) the wait."""
    app.config["IMPORT_UPLOAD_RETENTION_HOURS"] = 2
    job = waiting_upload(news)
    assert delete_old_uploads(now=utcnow() + timedelta(hours=3)) == 1
    assert db.session.get(ImportFile, job.id) is None


def test_a_finished_import_left_with_its_file_loses_it_at_the_next_run(news):
    """A file kept by a version before this rule goes at once once its import is done."""
    job = waiting_upload(news)
    job.status = ImportStatus.DONE
    db.session.commit()
    assert delete_old_uploads() == 1
    assert db.session.get(ImportFile, job.id) is None


def test_the_periodic_runner_deletes_old_uploads():
    """The job is registered with the runner, every ten minutes."""
    assert REGISTRY["delete_old_uploads"].func is housekeeping.delete_old_uploads_job
    assert REGISTRY["delete_old_uploads"].every == timedelta(minutes=10)


def test_a_finished_dry_run_keeps_its_upload_until_the_retention_period(app, make, admin_account):
    """Its file waits to be imported from its page; the periodic job takes it only once the
    IMPORT_UPLOAD_RETENTION_HOURS have passed."""
    from datetime import timedelta

    from newsletter.imports import uploads
    from newsletter.lists import get_list
    from newsletter.models import ConsentMode, ImportFile
    from newsletter.models.base import utcnow

    make.list(slug="news")
    job = uploads.keep_upload(
        "a.csv", b"email\na@example.org\n", get_list("news"), "auto", ConsentMode.KEEP,
        admin_account,
    )  # fmt: skip
    job.previewing, job.dry_run = False, True
    uploads.run_uploaded_job(job.id)
    assert job.status == "done" and job.imported == 1
    assert delete_old_uploads() == 0 and db.session.get(ImportFile, job.id) is not None
    assert delete_old_uploads(utcnow() + timedelta(hours=25)) == 1
    assert db.session.get(ImportFile, job.id) is None
