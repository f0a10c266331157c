"""The admin import pages: upload, background job, live status and the final report."""

from __future__ import annotations

import io

from dramatiq import Worker
from sqlalchemy import select, text

from newsletter.background.enqueue import QUEUE_IMPORTS
from newsletter.extensions import db
from newsletter.imports.preview import preview
from newsletter.models import AuditEvent, ImportFile, ImportJob, Subscription
from tests.factories import export_file
from tests.support.signin import sign_in


def upload(client, name: str, content: bytes, action: str | None = "import", **fields):
    """Upload a file, see its preview, and start it (`action`: import, dry_run, or None to
    stay on the preview); the last response."""
    data = {"mailing_list": "news", "format": "auto", "consent": "keep", **fields}
    data["file"] = (io.BytesIO(content), name)
    response = client.post("/admin/imports/new", data=data, content_type="multipart/form-data")
    if action is None or response.status_code != 302:
        return response
    preview = response.headers["Location"]
    assert preview.endswith("/preview") and client.get(preview).status_code == 200
    return client.post(preview.removesuffix("/preview") + "/start", data={"action": action})


def run_jobs(stub_broker, stub_worker) -> None:
    db.session.remove()  # let the worker's session write
    stub_broker.join(QUEUE_IMPORTS)
    stub_worker.join()


def test_upload_runs_the_import_in_the_background_and_shows_the_report(
    admin_client, make, stub_broker, stub_worker
):
    """Upload -> job page; the actor imports; the page then shows the counts."""
    make.list(slug="news", name="News")
    response = upload(
        admin_client, "export.csv", export_file("subscribed_members_export.csv").read_bytes()
    )
    assert response.status_code == 302
    job_page = response.headers["Location"]
    run_jobs(stub_broker, stub_worker)
    job = db.session.scalars(select(ImportJob)).one()
    assert (job.status, job.imported, job.rejected, job.duplicates) == ("done", 4, 1, 1)
    assert job.actor == "admin@example.org" and job.created_by_id is not None
    # The upload holds every address of the list: it goes once the import is done.
    assert db.session.get(ImportFile, job.id) is None and job.file_deleted_at is not None
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "Done" in page and "Download the rejected rows" in page
    assert "The uploaded file was deleted on" in page
    assert len(db.session.scalars(select(Subscription)).all()) == 4


def test_status_json_reports_progress_and_counts(admin_client, make, stub_broker):
    """The endpoint the progress bar polls."""
    make.list(slug="news")
    upload(admin_client, "list.txt", export_file("mailman_plain.txt").read_bytes())
    job = db.session.scalars(select(ImportJob)).one()
    # No worker runs yet, so the job is seen waiting, not already picked up.
    before = admin_client.get(f"/admin/imports/{job.id}/status.json").get_json()
    assert (before["status"], before["finished"], before["percent"]) == ("queued", False, 0)
    worker = Worker(stub_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        run_jobs(stub_broker, worker)
    finally:
        worker.stop()
    after = admin_client.get(f"/admin/imports/{job.id}/status.json").get_json()
    assert (after["status"], after["finished"], after["percent"]) == ("done", True, 100)
    assert (after["imported"], after["rejected"], after["rows_done"]) == (3, 1, 4)


def test_a_running_job_page_has_a_progress_bar_script_file_and_reload_link(admin_client, make):
    """No inline script (CSP script-src 'self'): a static file polls; a link works without it."""
    make.list(slug="news")
    upload(admin_client, "list.txt", export_file("mailman_plain.txt").read_bytes())
    job = db.session.scalars(select(ImportJob)).one()
    page = admin_client.get(f"/admin/imports/{job.id}").get_data(as_text=True)
    assert "<progress" in page and "Reload this page" in page
    assert 'src="/static/import-progress.js"' in page and "<script>" not in page
    script = admin_client.get("/static/import-progress.js")
    script.close()
    assert script.status_code == 200


def test_rejects_download_as_csv(admin_client, make, stub_broker, stub_worker):
    """line, value, reason, file for each refused row."""
    make.list(slug="news")
    upload(admin_client, "list.txt", export_file("mailman_plain.txt").read_bytes())
    run_jobs(stub_broker, stub_worker)
    job = db.session.scalars(select(ImportJob)).one()
    response = admin_client.get(f"/admin/imports/{job.id}/rejects.csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "line,value,reason,file" and lines[1].startswith("5,not an address,")


def test_a_file_without_an_email_column_is_refused_on_the_form_and_nothing_is_kept(
    admin_client, make
):
    """The preview reads the file's head: a file it cannot import is refused with the reason,
    and no job or file is kept."""
    make.list(slug="news")
    response = upload(admin_client, "x.csv", export_file("no_email_column.csv").read_bytes())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "x.csv: no email column in the header (Name, Phone)" in page
    # Advice the web form can follow, not the command line's --map option.
    assert "--map" not in page
    assert "the upload form maps columns by their names" in page
    assert "call the column that holds the addresses &#34;email&#34; in the file" in page
    assert "There is a problem" in page
    assert db.session.scalars(select(ImportJob)).all() == []
    assert db.session.scalars(select(ImportFile)).all() == []


def test_the_imports_list_shows_each_job(admin_client, make):
    """Newest first, with file, list and status."""
    make.list(slug="news", name="News")
    upload(admin_client, "govdelivery.csv", export_file("govdelivery.csv").read_bytes())
    page = admin_client.get("/admin/imports").get_data(as_text=True)
    assert "govdelivery.csv" in page and "Waiting" in page


def test_editors_cannot_import(client, make):
    """Imports carry personal data: admins only."""
    make.account(email="editor@example.org", role="editor")
    sign_in(client, "editor@example.org")
    assert client.get("/admin/imports/new").status_code == 403
    assert client.get("/admin/imports").status_code == 403


def test_the_preview_shows_format_columns_and_first_rows_before_anything_starts(admin_client, make):
    """Upload -> preview: the detected format, what each column becomes, the first rows with
    their problems; no worker is asked and nobody is imported yet."""
    make.list(slug="news", name="News")
    response = upload(
        admin_client,
        "export.csv",
        export_file("subscribed_members_export.csv").read_bytes(),
        action=None,
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/preview")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mailchimp audience export" in page
    assert "Email Address</th><td>email address" in page
    assert "consent evidence: when they confirmed" in page
    assert "subscribed to the list as confirmed" in page
    assert "Problem:</strong>" in page and "Nothing has been imported yet" in page
    job = db.session.scalars(select(ImportJob)).one()
    assert job.previewing and job.status == "queued"
    # The job page leads back to the preview until it is started; the list says so.
    assert admin_client.get(f"/admin/imports/{job.id}").headers["Location"].endswith("/preview")
    assert "Not started" in admin_client.get("/admin/imports").get_data(as_text=True)
    assert db.session.scalars(select(Subscription)).all() == []


def test_the_preview_reads_only_the_head_of_a_large_file():
    """A line past the limit far beyond the head is not read by the preview (the import,
    which reads the whole file, refuses it)."""
    rows = "".join(f"person{n}@example.org\n" for n in range(200_000))
    content = ("email\n" + rows + "x" * 2_000_000 + "\n").encode()
    shown = preview("big.csv", content, "auto", "keep")
    assert shown.format == "csv" and len(shown.rows) == 10
    assert [row.email for row in shown.rows][-1] == "person9@example.org"


def test_a_dry_run_says_what_would_happen_and_writes_nothing_but_its_job(
    admin_client, make, stub_broker, stub_worker
):
    """'Would import N'; no subscriber, consent event, suppression or reject is written; the
    file is kept so that it can be imported from the dry run's page."""
    make.list(slug="news", name="News")
    response = upload(
        admin_client,
        "export.csv",
        export_file("subscribed_members_export.csv").read_bytes(),
        action="dry_run",
    )
    job_page = response.headers["Location"]
    run_jobs(stub_broker, stub_worker)
    job = db.session.scalars(select(ImportJob)).one()
    job_id = job.id
    assert (job.status, job.dry_run, job.imported, job.rejected, job.duplicates) == (
        "done", True, 4, 1, 1,
    )  # fmt: skip
    for table in ("subscriber", "subscription", "consent_event", "suppression_entry"):
        assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
    assert db.session.scalar(text("SELECT count(*) FROM import_reject")) == 0
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "Dry run of export.csv" in page and "Would import 4, would update 0" in page
    assert "would reject 1" in page and "Nothing was written." in page
    assert "Import this file now" in page and "Download the rejected rows" not in page
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["import.uploaded", "import.dry_run_queued", "import.dry_run_completed"]
    # Import it for real: a new job takes the kept file, and the dry run links to it.
    response = admin_client.post(f"/admin/imports/{job_id}/import")
    real_page = response.headers["Location"]
    run_jobs(stub_broker, stub_worker)
    real = db.session.scalars(select(ImportJob).where(ImportJob.id != job_id)).one()
    assert (real.status, real.dry_run, real.imported) == ("done", False, 4)
    assert real_page.endswith(f"/admin/imports/{real.id}")
    assert len(db.session.scalars(select(Subscription)).all()) == 4
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "follow the import" in page and "Import this file now" not in page


def test_a_previewed_upload_starts_once(admin_client, make, stub_broker):
    """Starting it again says so and queues nothing more."""
    make.list(slug="news")
    response = upload(admin_client, "list.txt", export_file("mailman_plain.txt").read_bytes())
    again = admin_client.post(
        response.headers["Location"] + "/start", data={"action": "import"}, follow_redirects=True
    )
    assert "has already been started" in again.get_data(as_text=True)


def test_the_migration_guide_is_linked_from_the_upload_form(admin_client, make):
    make.list(slug="news")
    form = admin_client.get("/admin/imports/new").get_data(as_text=True)
    assert 'href="/admin/imports/guide">migration guide</a>' in form
    guide = admin_client.get("/admin/imports/guide").get_data(as_text=True)
    assert "<h1>Migrating subscribers from another provider</h1>" in guide
