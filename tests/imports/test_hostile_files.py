"""Hostile uploads: each is refused with one sentence, by the command and by the worker, and
nothing is imported. The limits are counted as bytes come out, not taken from the file."""

from __future__ import annotations

import io

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from newsletter.background.enqueue import QUEUE_IMPORTS
from newsletter.extensions import db
from newsletter.imports import uploads
from newsletter.imports.errors import ImportFileError
from newsletter.imports.limits import Limits
from newsletter.imports.sources import open_bytes, open_path
from newsletter.lists import get_list
from newsletter.models import Account, AuditEvent, ConsentMode, ImportFile, ImportJob, Subscriber
from tests.imports import hostile


def _people() -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


def _utf16(folder):
    """Excel's "Unicode Text": UTF-16 with a byte order mark."""
    path = folder / "unicode-text.csv"
    path.write_bytes("email,name\nzoë.ahmed@hackney.gov.uk,Zoë Ahmed\n".encode("utf-16"))
    return path


def _nul_in_header(folder):
    """A stray NUL in the header: its text goes into the job's error, which PostgreSQL would
    refuse with the NUL in it."""
    path = folder / "nul.csv"
    path.write_bytes(b"e\x00mail address,name\nann@example.org,Ann\n")
    return path


# (generator at a size the tests can afford, words of the sentence that refuses it)
CASES = {
    "utf-16": (_utf16, 'saved as UTF-16 (Excel\'s "Unicode Text")'),
    "zip bomb": (lambda folder: hostile.zip_bomb(folder, 20), "times its packed size"),
    "blank lines": (lambda folder: hostile.blank_lines(folder, 2), "blank lines"),
    "huge line": (lambda folder: hostile.huge_line(folder, 3), "longer than 1,024 KB"),
    "nested zip": (lambda folder: hostile.nested_zip(folder, 5), "only other ZIP files"),
    "zip as csv": (hostile.zip_as_csv, "is itself a ZIP file"),
    "many members": (lambda folder: hostile.many_members(folder, 5000), "IMPORT_MAX_ZIP_FILES"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_command_refuses_a_hostile_file_in_one_line(run_import, news, tmp_path, case):
    """Exit 1, the reason on one line, no traceback, no one imported."""
    make, words = CASES[case]
    result = run_import(make(tmp_path), expect=1)
    assert words in result.output and "Traceback" not in result.output
    assert _people() == 0


# Uploads small enough for the test client to keep in memory (a line limit of 64 KB here).
UPLOADS = {
    "zip bomb": (lambda folder: hostile.zip_bomb(folder, 20), "times its packed size"),
    "blank lines": (lambda folder: hostile.blank_lines(folder, 0, 5000), "blank lines"),
    "huge line": (lambda folder: hostile.huge_line(folder, 0, 100_000), "longer than 64 KB"),
    "many members": (lambda folder: hostile.many_members(folder, 60), "holds 60 files"),
    "utf-16": (_utf16, 'save it as "CSV UTF-8"'),
    "nul in header": (_nul_in_header, "no email column in the header (e mail address, name)"),
}


@pytest.mark.parametrize("config_overrides", [{"IMPORT_MAX_LINE_KB": 64}])
@pytest.mark.parametrize("case", list(UPLOADS))
def test_the_upload_form_refuses_a_hostile_file_from_its_head_and_keeps_nothing(
    admin_client, make, tmp_path, case
):
    """The preview reads only the file's head, under the same limits: the form gives the
    reason, and no job, file or person is kept."""
    make.list(slug="news")
    path, words = UPLOADS[case][0](tmp_path), UPLOADS[case][1]
    response = admin_client.post(
        "/admin/imports/new",
        data={
            "mailing_list": "news",
            "format": "auto",
            "consent": "keep",
            "file": (io.BytesIO(path.read_bytes()), path.name),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert str(escape(words)) in response.get_data(as_text=True)
    assert db.session.scalars(select(ImportJob)).all() == []
    assert db.session.scalars(select(ImportFile)).all() == []
    assert _people() == 0


@pytest.mark.parametrize("config_overrides", [{"IMPORT_MAX_LINE_KB": 64}])
@pytest.mark.parametrize("case", list(UPLOADS))
def test_the_worker_checks_an_upload_and_fails_its_job_with_the_reason(
    admin_client, make, stub_broker, tmp_path, case, request
):
    """A stored upload is checked again by the worker, whole: it refuses it, the job page
    says why, the audit log has it, and nothing is imported."""
    make.list(slug="news")
    path, words = UPLOADS[case][0](tmp_path), UPLOADS[case][1]
    admin = db.session.scalars(select(Account).where(Account.email == "admin@example.org")).one()
    job = uploads.keep_upload(
        path.name, path.read_bytes(), get_list("news"), "auto", ConsentMode.KEEP, admin
    )
    uploads.start(job, dry_run=False, actor=admin)
    job_page = f"/admin/imports/{job.id}"
    assert "Checking the file" in admin_client.get(job_page).get_data(as_text=True)
    # Only now a worker starts: until it has run, the job waits with its file unread.
    stub_worker = request.getfixturevalue("stub_worker")
    db.session.remove()
    stub_broker.join(QUEUE_IMPORTS)
    stub_worker.join()
    job = db.session.scalars(select(ImportJob)).one()
    assert job.status == "failed" and words in job.error
    # The check was final (no retry can use the file): the upload is gone with it.
    assert db.session.get(ImportFile, job.id) is None and job.file_deleted_at is not None
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "Nothing was imported" in page
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import.failed"))
    assert words in failed.one().detail["error"]
    assert _people() == 0


def test_a_long_line_after_good_rows_stops_the_file_before_any_row_is_imported(
    run_import, news, tmp_path
):
    """The check reads the whole file first: rows before the bad line are not imported."""
    path = tmp_path / "late.csv"
    path.write_bytes(hostile.HEADER + hostile.ROW * 10 + b"y" * (2 << 20) + b"\r\n" + hostile.ROW)
    result = run_import(path, expect=1)
    assert "longer than 1,024 KB" in result.output
    assert _people() == 0


def test_a_member_is_capped_by_what_comes_out_of_it(tmp_path):
    """A plausible CSV over IMPORT_MAX_MEMBER_MB is refused, however well it packs."""
    path = hostile.big_member(tmp_path, 3)
    with pytest.raises(ImportFileError, match="larger than 2 MB once unpacked"):
        open_path(path, Limits(member_bytes=2 << 20, ratio=10**6))


def test_the_whole_file_is_capped_across_its_members(tmp_path):
    """Two members under the member limit, together over IMPORT_MAX_FILE_MB."""
    import zipfile

    path = tmp_path / "two.zip"
    body = hostile.HEADER + hostile.ROW * 50_000  # about 1.5 MB each
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", body)
        archive.writestr("b.csv", body)
    with pytest.raises(ImportFileError, match="more than 2 MB of text once unpacked"):
        open_path(path, Limits(file_bytes=2 << 20, ratio=10**6))
    assert open_path(path, Limits(file_bytes=4 << 20, ratio=10**6)).total_bytes == 2 * len(body)


def test_a_plain_file_over_the_file_limit_is_refused_before_it_is_read_twice(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(hostile.HEADER + hostile.ROW * 100_000)
    with pytest.raises(ImportFileError, match="IMPORT_MAX_FILE_MB"):
        open_path(path, Limits(file_bytes=1 << 20))


def test_the_sizes_read_are_the_sizes_that_came_out_not_the_headers(tmp_path):
    """A member's size is counted while reading: the progress total is the real text."""
    path = hostile.big_member(tmp_path, 1)
    source = open_path(path, Limits(ratio=10**6))
    with source.members[0].open() as stream:
        assert len(stream.read()) == source.total_bytes


def test_a_damaged_zip_is_a_sentence_not_a_traceback():
    """A truncated archive is refused as unreadable."""
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", hostile.HEADER + hostile.ROW * 1000)
    with pytest.raises(ImportFileError, match="ZIP"):
        open_bytes("cut.zip", buffer.getvalue()[:200])


def test_blank_lines_within_the_limit_before_a_header_are_still_skipped(run_import, news, tmp_path):
    """Exports that start with a few blank lines keep working."""
    path = tmp_path / "few.csv"
    path.write_bytes(b"\r\n" * 50 + hostile.HEADER + hostile.ROW)
    run_import(path)
    assert _people() == 1


@pytest.mark.parametrize("config_overrides", [{"IMPORT_MAX_SKIPPED_LINES": 10}])
def test_the_limits_are_settings(run_import, news, tmp_path):
    """IMPORT_MAX_SKIPPED_LINES (and its siblings) come from the app's settings."""
    path = tmp_path / "few.csv"
    path.write_bytes(b"\r\n" * 50 + hostile.HEADER + hostile.ROW)
    result = run_import(path, expect=1)
    assert "more than 10 blank lines" in result.output
