"""Every CSV the product writes is safe to open in a spreadsheet, and reads back unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from newsletter import spreadsheet
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.imports.reading import RecordStream
from newsletter.imports.sources import open_path
from newsletter.models import Subscriber, Subscription

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil","x")',
    "+44 20 7946 0000",
    "-Minus",
    "@SUM(A1:A9)",
    "'=already marked",
    "''+twice marked",
    "O'Brien",
    "'quoted'",
    "Zoë Ahmed",
    "Nguyễn Văn An",
    "محمد الأحمد",
    "李小龍",
    "plain",
]
# Addresses may start with = + - themselves (RFC 5322 allows them before the @).
PEOPLE = [
    ("-bob@example.org", '=HYPERLINK("http://evil","x")'),
    ("+tag@example.org", "+44 20 7946 0000"),
    ("=eq@example.org", "@SUM(A1:A9)"),
    ("zoë.ahmed@hackney.gov.uk", "Zoë Ahmed"),
    ("anna@bücher.example", "'=already marked"),
    ("an@example.org", "Nguyễn Văn An"),
    ("mo@example.org", "محمد الأحمد"),
    ("li@example.org", "李小龍"),
    ("ob@example.org", "O'Brien"),
    ("q@example.org", "'quoted'"),
]


@pytest.mark.parametrize("value", [*HOSTILE_NAMES, "\tTab", "\rReturn", "", "'"])
def test_escape_then_unescape_gives_the_value_back(value):
    assert spreadsheet.unescape(spreadsheet.escape(value)) == value


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'=x", "''-x"])
def test_a_cell_a_spreadsheet_would_run_is_marked(value):
    assert spreadsheet.escape(value) == "'" + value


@pytest.mark.parametrize("value", ["O'Brien", "'quoted'", "a=b", "x@y", "", "Zoë", "'x"])
def test_other_cells_are_written_as_they_are(value):
    assert spreadsheet.escape(value) == value
    assert spreadsheet.unescape(value) == value


def test_numbers_and_missing_values_are_left_to_the_csv_module():
    buffer = io.StringIO()
    spreadsheet.writer(buffer, lineterminator="\n").writerow([3, None, -2, "-2"])
    assert buffer.getvalue() == "3,,-2,'-2\n"


def _export(admin_client) -> str:
    response = admin_client.get("/admin/lists/news/subscribers.csv")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_subscriber_export_marks_every_formula_cell(admin_client, make, news):
    """The name and the address cells both: nothing a spreadsheet would run is left bare."""
    for email, name in PEOPLE:
        make.subscriber(email, lists=[news], name=name)
    rows = list(csv.reader(io.StringIO(_export(admin_client))))
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    cells = {cell for row in rows for cell in row}
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'-bob@example.org" in cells


def test_the_product_reads_its_own_export_back_unchanged(
    admin_client, runner, make, news, tmp_path
):
    """Export a list, import the file into another list: the same people, the same names."""
    for email, name in PEOPLE:
        make.subscriber(email, lists=[news], name=name)
    path = tmp_path / "news-subscribers.csv"
    path.write_text(_export(admin_client), encoding="utf-8")
    source = open_path(path)
    read = {(r.email, r.name) for r in RecordStream(source)}
    expected = {(s.email, s.name) for s in db.session.scalars(select(Subscriber))}
    assert read == expected
    again = make.list("again")
    result = runner.invoke(main, ["import", str(path), "--list", "again"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    on_again = db.session.execute(
        select(Subscriber.email, Subscriber.name)
        .join(Subscription)
        .where(Subscription.list_id == again.id)
    ).all()
    assert set(on_again) == expected
    assert len(db.session.scalars(select(Subscriber)).all()) == len(PEOPLE)


def test_the_rejected_rows_csv_marks_formula_cells(runner, news, tmp_path):
    """A refused address that is a formula is written marked, from the command line."""
    path = tmp_path / "list.csv"
    path.write_text('email,name\n"=HYPERLINK(""http://evil"",""x"")",Eve\nok@example.org,Ok\n')
    out = tmp_path / "rejects.csv"
    result = runner.invoke(main, ["import", str(path), "--list", "news", "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[1][1] == '\'=HYPERLINK("http://evil","x")'


def test_the_rejected_rows_download_marks_formula_cells(
    admin_client, make, stub_broker, stub_worker
):
    """The same from the admin's download, the file name from inside a ZIP included."""
    import zipfile

    from newsletter.background.enqueue import QUEUE_IMPORTS
    from newsletter.models import ImportJob

    make.list(slug="news")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("@evil.csv", "email\n-cmd|' /C calc'!A0\nok@example.org\n")
    response = admin_client.post(
        "/admin/imports/new",
        data={
            "mailing_list": "news",
            "format": "auto",
            "consent": "keep",
            "file": (io.BytesIO(buffer.getvalue()), "export.zip"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    admin_client.get(response.headers["Location"])  # the preview
    start = response.headers["Location"].removesuffix("/preview") + "/start"
    admin_client.get(admin_client.post(start, data={"action": "import"}).headers["Location"])
    db.session.remove()
    stub_broker.join(QUEUE_IMPORTS)
    stub_worker.join()
    job = db.session.scalars(select(ImportJob)).one()
    assert job.status == "done", job.error
    download = admin_client.get(f"/admin/imports/{job.id}/rejects.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(download)))
    assert rows[1][1] == "'-cmd|' /C calc'!A0" and rows[1][3] == "'@evil.csv"


def test_marks_are_looked_for_only_in_files_that_can_hold_them(tmp_path):
    """An apostrophe inside a name does not make the reader look at every cell; a mark does."""
    plain = tmp_path / "plain.csv"
    plain.write_text("email,name\nob@example.org,O'Brien\n", encoding="utf-8")
    marked = tmp_path / "marked.csv"
    marked.write_text("email,name\n'-bob@example.org,'=x\n", encoding="utf-8")
    assert open_path(plain).members[0].marked is False
    source = open_path(marked)
    assert source.members[0].marked is True
    assert [(r.email, r.name) for r in RecordStream(source)] == [("-bob@example.org", "=x")]


def test_no_module_writes_csv_but_through_the_safe_writer():
    """A new export that used csv.writer directly would undo the defence: there is none."""
    from pathlib import Path

    import newsletter

    package = Path(newsletter.__file__).parent
    direct = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if path.name != "spreadsheet.py"
        and ("csv.writer(" in (text := path.read_text()) or "csv.DictWriter(" in text)
    ]
    assert direct == []
