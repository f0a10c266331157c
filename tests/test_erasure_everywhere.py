"""Erasure erases everything: after it, no table and no stored file holds the address or name.

The person is built through the product's own paths (the sign-up form, the confirmation mail
in the built-in sink's outbox, an issue mailed to them, a hard bounce, an uploaded import with
a row of theirs refused, another upload still waiting, a manual suppression noting them), and
the search afterwards reflects every table and column from the database itself, so a table
added later is searched without anyone remembering to add it here. On SQLite the database
file (the data folder of embedded mode) is searched byte by byte as well.
"""

from __future__ import annotations

import email
import io
import json
import re
import zipfile
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter.background.enqueue import QUEUE_IMPORTS, QUEUE_SYSTEM
from newsletter.bounces.policy import apply_report
from newsletter.bounces.reports import Report
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.imports import jobs, uploads
from newsletter.imports.reading import RecordStream
from newsletter.imports.sources import open_bytes
from newsletter.lists import get_list
from newsletter.models import (
    BounceKind,
    ConsentMode,
    Delivery,
    ImportFile,
    ImportJob,
    ImportStatus,
    OutboxMessage,
)
from newsletter.suppression.manual import add_addresses
from tests.factories import make_issue, send_here, start
from tests.support.subscribing import sign_up

pytestmark = pytest.mark.usefixtures("fresh_globals_per_request")

# Unusual enough that nothing else in the database can hold them by chance.
ADDRESS = "Philippa.Quenneville@Erasure-Example.net"
NAME = "Philippa Quenneville"
NEEDLES = (ADDRESS.lower(), "philippa.quenneville@", "quenneville")


def mentions(text: str) -> bool:
    lowered = text.lower()
    return any(needle in lowered for needle in NEEDLES)


def as_text(value) -> str:
    """A column's value as text to search: JSON as written, bytes decoded, a ZIP unpacked."""
    if isinstance(value, bytes | bytearray | memoryview):
        content = bytes(value)
        if zipfile.is_zipfile(io.BytesIO(content)):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                content += b"".join(archive.read(member) for member in archive.namelist())
        return content.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def tables_mentioning_the_person() -> dict[str, list[str]]:
    """table -> columns holding the address or name, over every table and column the
    database has (reflected, not the models: a table the models forgot is searched too)."""
    db.session.commit()
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    found: dict[str, list[str]] = {}
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if mentions(as_text(value)):
                        found.setdefault(table.name, []).append(column)
    return found


def database_files() -> list[Path]:
    """The SQLite database file and anything beside it (journal, WAL): the data folder."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        return []
    folder = Path(url.database).parent
    return [path for path in folder.iterdir() if path.is_file()]


def files_mentioning_the_person() -> list[str]:
    db.session.remove()
    db.engine.dispose()  # every connection closed: the file is all there is
    needles = [needle.encode() for needle in NEEDLES]
    return [
        path.name
        for path in database_files()
        if any(needle in path.read_bytes().lower() for needle in needles)
    ]


def upload_csv() -> bytes:
    return (
        "Email Address,First Name,Last Name\n"
        f"{ADDRESS},Philippa,Quenneville\n"
        f"<{ADDRESS}>,Philippa,Quenneville\n"  # refused: its cell is kept as a reject
        "someone.else@example.org,Someone,Else\n"
    ).encode()


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def waiting_upload(content: bytes, name: str, actor) -> ImportJob:
    """An upload kept for a worker that has not run it yet."""
    source = open_bytes(name, content)
    return jobs.create_job(
        source, RecordStream(source), get_list("news"), ConsentMode.KEEP,
        actor=actor, content=content,
    )  # fmt: skip


@pytest.fixture
def traces(app, make, admin_client, news, stub_broker, stub_worker, outbox_sink):
    """The person, with their address and name in every place the product stores them."""
    # The sign-up form, and the confirmation mail captured in the outbox; its link confirms.
    assert sign_up(admin_client, ADDRESS, "news", name=NAME).status_code == 200
    stub_broker.join(QUEUE_SYSTEM)
    stub_worker.join()
    raw = db.session.scalars(sa.select(OutboxMessage.raw)).one()
    text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    path = re.search(r"http://localhost(/confirm/[A-Za-z0-9_.\-]+)", text).group(1)
    assert admin_client.post(path).status_code == 200
    # An issue that greets them by name, mailed to the outbox; then a hard bounce of it.
    issue = make_issue(make, [news], body="Dear {{ subscriber.name }},\n\nNews.\n")
    start(issue)
    send_here(issue)
    delivery = db.session.scalars(sa.select(Delivery)).one()
    diagnostic = f"550 5.1.1 <{ADDRESS}>: mailbox unavailable"
    apply_report(delivery.id, Report(BounceKind.HARD, "5.1.1", "dsn", diagnostic))
    # An import through the admin page: one row refused, kept in the rejects.
    uploaded = admin_client.post(
        "/admin/imports/new",
        data={
            "mailing_list": "news",
            "format": "auto",
            "consent": "keep",
            "file": (io.BytesIO(upload_csv()), "old-list.csv"),
        },  # fmt: skip
        content_type="multipart/form-data",
    )
    start_import = uploaded.headers["Location"].removesuffix("/preview") + "/start"
    admin_client.post(start_import, data={"action": "import"})
    db.session.remove()
    stub_broker.join(QUEUE_IMPORTS)
    stub_worker.join()
    # Another export, zipped, uploaded and still waiting for a worker.
    waiting = waiting_upload(zipped("members.csv", upload_csv()), "later.zip", "test")
    # A note on a manual suppression that names them.
    add_addresses(["someone.else@example.org"], f"{NAME} <{ADDRESS}> asked by phone", "test")
    # Their address kept by an admin as one that test sends may go to.
    assert admin_client.post("/admin/test-addresses", data={"email": ADDRESS}).status_code == 302
    return waiting.id


def test_the_search_finds_the_person_before_erasure(traces):
    """The search is real: before erasure it finds them where each path put them."""
    found = tables_mentioning_the_person()
    for table in (
        "subscriber", "delivery", "bounce", "outbox_message", "import_reject",
        "import_file", "suppression_entry_reason", "audit_event", "test_address",
    ):  # fmt: skip
        assert table in found, (table, found)


def test_after_erasure_no_table_or_stored_file_holds_the_address_or_name(runner, traces):
    """Every table, every text and binary column, and the database file itself."""
    result = runner.invoke(main, ["subscribers", "erase", ADDRESS.lower()])
    assert result.exit_code == 0, result.output
    assert tables_mentioning_the_person() == {}
    assert files_mentioning_the_person() == []


def test_an_upload_waiting_when_they_are_erased_is_deleted_and_says_why(
    runner, admin_client, traces
):
    """The waiting upload held them: it goes, and its job says so rather than running."""
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    db.session.expire_all()
    job = db.session.get(ImportJob, traces)
    assert db.session.get(ImportFile, job.id) is None
    assert job.status is ImportStatus.FAILED and job.file_deleted_at is not None
    page = admin_client.get(f"/admin/imports/{job.id}").get_data(as_text=True)
    assert "held a person who has since been erased" in page
    assert "The uploaded file was deleted on" in page
    assert "upload the file again" in page


def test_an_upload_without_them_is_kept(runner, make, news):
    """Erasure deletes only the uploads that mention the person."""
    make.subscriber(ADDRESS, lists=[news], name=NAME)
    other = waiting_upload(b"email,name\nsomeone.else@example.org,Someone\n", "x.csv", "test")
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    db.session.expire_all()
    assert db.session.get(ImportFile, other.id) is not None
    assert db.session.get(ImportJob, other.id).status is ImportStatus.QUEUED


def test_the_erasure_record_counts_what_it_removed_without_naming_them(runner, traces):
    """The audit record says how much went from where, by numbers only."""
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    found = tables_mentioning_the_person()
    assert "audit_event" not in found
    [detail] = db.session.scalars(
        sa.text("SELECT detail FROM audit_event WHERE action = 'subscriber.erased'")
    ).all()
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["outbox_messages"] == 2 and detail["uploads"] == 1
    assert detail["blanked"] >= 3  # the reject, the hard bounce's note, the manual note


def test_an_old_export_imported_after_erasure_keeps_no_address_in_its_rejects(
    runner, make, news, tmp_path
):
    """Importing an old export again refuses the erased row without writing the address."""
    make.subscriber(ADDRESS, lists=[news], name=NAME)
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    source = tmp_path / "old.csv"
    source.write_text(f"Email Address,First Name,Last Name\n{ADDRESS},Philippa,Quenneville\n")
    result = runner.invoke(main, ["import", str(source), "--list", "news"])
    assert result.exit_code == 0, result.output
    assert "rejected 1" in result.stdout.strip().splitlines()[-1]
    assert tables_mentioning_the_person() == {}


def test_a_name_alone_elsewhere_is_left_alone(runner, make, news):
    """Another person may share the name: only text beside the address is blanked."""
    make.subscriber(ADDRESS, lists=[news], name=NAME)
    namesake = make.subscriber("p.q@example.org", lists=[news], name=NAME)
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    db.session.expire_all()
    assert db.session.get(type(namesake), namesake.id).name == NAME


def test_sqlite_overwrites_what_it_deletes(app):
    """secure_delete is on for every connection, whatever the SQLite build's default, so the
    free pages of the database file keep no erased rows."""
    if db.engine.url.get_backend_name() != "sqlite":
        pytest.skip("a SQLite setting")
    assert db.session.execute(sa.text("PRAGMA secure_delete")).scalar() == 1


@pytest.mark.parametrize(
    "content",
    [
        "email,name\nZOË.AHMED@HACKNEY.GOV.UK,ZOË AHMED\n".encode(),
        "email,name\nzoe\u0308.ahmed@hackney.gov.uk,Zoe\u0308\n".encode(),
        "email,name\nzoë.ahmed@hackney.gov.uk,Zoë Ahmed\n".encode("utf-16"),
        "email,name\nzoë.ahmed@hackney.gov.uk,Zoë Ahmed\n".encode("cp1252"),
    ],
    ids=["upper case", "decomposed", "utf-16", "windows-1252"],
)
def test_an_upload_holding_them_in_another_spelling_is_deleted(
    runner, make, news, admin_account, content
):
    """Capitals, a decomposed ë, Excel's UTF-16 "Unicode Text" and Windows-1252 all name the
    same person: the stored upload goes whichever way it spells them."""
    make.subscriber("zoë.ahmed@hackney.gov.uk", lists=[news], name="Zoë Ahmed")
    job = uploads.queue_upload("old.csv", content, news, "auto", ConsentMode.KEEP, admin_account)
    result = runner.invoke(main, ["subscribers", "erase", "zoë.ahmed@hackney.gov.uk"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(ImportFile, job.id) is None
