"""Recognising exports by their header names and reading every quirk of them."""

from __future__ import annotations

import zipfile

import pytest

from newsletter.imports.errors import ImportFileError
from newsletter.imports.reading import RecordStream
from newsletter.imports.records import RowKind, parse_time
from newsletter.imports.sources import CP1252, open_bytes, open_path
from tests.factories import export_file


def read(name: str, wanted: str = "auto", column_map=None):
    stream = RecordStream(open_path(export_file(name)), wanted, column_map)
    return stream, list(stream)


def test_mailchimp_subscribed_export_is_recognised_with_evidence_and_merge_fields():
    """Email Address plus Mailchimp system columns means Mailchimp; evidence kept as given."""
    stream, records = read("subscribed_members_export.csv")
    assert stream.format == "mailchimp"
    ada = records[0]
    assert (ada.email, ada.name, ada.kind) == ("ada@example.org", "Ada Lovelace", RowKind.MEMBER)
    assert ada.evidence == {
        "OPTIN_TIME": "2019-03-04 10:22:11",
        "OPTIN_IP": "192.0.2.10",
        "CONFIRM_TIME": "2019-03-04 10:25:40",
        "CONFIRM_IP": "192.0.2.11",
    }
    assert ada.attributes == {
        "Organisation": "Analytical Engines, Ltd",
        "tags": '"Trustees","Press"',
    }
    assert ada.source_ids == {"LEID": "101", "EUID": "a1b2c3"}
    assert ada.confirmed_at == parse_time("2019-03-04 10:25:40")


def test_quoted_fields_may_hold_commas_and_newlines_and_lines_are_counted_from_the_file():
    """A quoted newline does not split a row; each row keeps the line it starts on."""
    _, records = read("subscribed_members_export.csv")
    grace = records[1]
    assert grace.attributes["Organisation"] == "Navy,\nResearch Lab"
    assert grace.attributes["notes"] == "Met at the\nconference"
    assert [r.line for r in records] == [2, 3, 6, 7, 8, 9]


def test_mailchimp_unsubscribed_and_cleaned_exports_are_leavers_with_dates_and_reasons():
    """UNSUB_TIME marks the unsubscribed file, CLEAN_TIME the cleaned one."""
    _, unsubscribed = read("unsubscribed_members_export.csv")
    _, cleaned = read("cleaned_members_export.csv")
    assert {r.kind for r in unsubscribed} == {RowKind.UNSUBSCRIBED}
    assert unsubscribed[0].left_at == parse_time("2022-02-02 10:00:00")
    assert "Too many emails" in unsubscribed[0].note and "February news" in unsubscribed[0].note
    assert cleaned[0].kind is RowKind.CLEANED
    assert cleaned[0].left_at == parse_time("2019-09-09 09:09:09")


def test_a_mailchimp_zip_is_read_leavers_first(mailchimp_zip):
    """The ZIP's three CSVs are read, unsubscribed and cleaned before subscribed."""
    stream = RecordStream(open_path(mailchimp_zip))
    kinds = [record.kind for record in stream]
    assert stream.format == "mailchimp"
    assert kinds.index(RowKind.MEMBER) > max(
        kinds.index(RowKind.UNSUBSCRIBED), kinds.index(RowKind.CLEANED)
    )
    assert len(kinds) == 9


def test_listmonk_import_format_reads_attributes_as_json():
    """email,name,attributes: the attributes column is a JSON object."""
    stream, records = read("listmonk_import.csv")
    assert stream.format == "listmonk"
    assert records[0].attributes == {"city": "Leeds", "projects": [1, 2]}
    assert records[1].attributes == {}
    assert records[2].problem == "attributes is not a JSON object"


def test_listmonk_export_blocklisted_is_a_leaver_and_disabled_is_refused():
    """status blocklisted becomes a leaver dated by updated_at; disabled is not imported."""
    _, records = read("listmonk_export.csv")
    assert records[0].kind is RowKind.MEMBER and records[0].source_ids["uuid"].endswith("c01")
    assert records[1].kind is RowKind.BLOCKLISTED
    assert records[1].left_at == parse_time("2023-04-05T06:07:08Z")
    assert records[2].problem == "status 'disabled' in listmonk: not imported"


def test_a_listmonk_export_inside_a_zip(tmp_path):
    """A ZIP holding one listmonk CSV is read like the CSV itself."""
    path = tmp_path / "subscribers.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(export_file("listmonk_export.csv"), arcname="export/subscribers.csv")
    stream = RecordStream(open_path(path))
    assert stream.format == "listmonk" and len(list(stream)) == 3


def test_mailman_plain_list_has_no_header_and_skips_blank_and_comment_lines():
    """One address per line; the first line is an address, not a header."""
    stream, records = read("mailman_plain.txt")
    assert stream.format == "mailman"
    assert [(r.line, r.email) for r in records] == [
        (1, "one@example.org"),
        (2, "Two@Example.org"),
        (5, "not an address"),
        (6, "three@example.org"),
    ]


def test_mailman_display_name_lines_give_name_and_address():
    """`Display Name <address>` lines, quoted names with commas included."""
    _, records = read("mailman_names.txt")
    assert [(r.name, r.email) for r in records] == [
        ("Ada Lovelace", "ada@example.org"),
        ("Hopper, Grace", "grace@example.net"),
        ("", "plain@example.org"),
    ]


def test_any_csv_with_a_govdelivery_destination_column():
    """GovDelivery's Destination is an email column; other columns become attributes."""
    stream, records = read("govdelivery.csv")
    assert stream.format == "csv"
    assert records[0].email == "gov@example.gov.uk"
    assert records[0].attributes == {"Subscription Date": "2022-01-01", "Zip Code": "SW1A 1AA"}
    assert records[1].attributes == {"Subscription Date": "2022-02-02"}


def test_semicolons_are_sniffed_and_a_byte_order_mark_is_dropped():
    """A UTF-8 BOM, CRLF and ';' delimiters with a quoted ';' inside a field."""
    stream, records = read("semicolon_bom.csv")
    assert stream.source.warnings == []
    assert [(r.email, r.name) for r in records] == [
        ("semi@example.org", "Smith; Jo"),
        ("semi2@example.org", "Sam"),
    ]
    assert records[0].attributes == {"Team": "Digital"}


def test_tabs_are_sniffed():
    """Tab-separated files with an Email column."""
    _, records = read("tabs.tsv")
    assert (records[0].email, records[0].name) == ("tab@example.org", "Tab Person")


def test_a_windows_1252_file_is_read_with_a_warning():
    """Bytes that are not UTF-8 are read as Windows-1252, and the source says so."""
    stream, records = read("windows_1252.csv")
    assert stream.members[0].member.encoding == CP1252
    assert "Windows-1252" in stream.source.warnings[0]
    assert records[0].name == "Zoë Café"
    assert records[0].attributes == {"Notes": "\u201cquoted\u201d"}


def test_a_header_without_an_email_column_is_refused_with_a_hint():
    """No email column: a clear error that names the columns and --map."""
    with pytest.raises(ImportFileError, match=r"no email column.*Name, Phone.*--map"):
        read("no_email_column.csv")


def test_map_names_the_email_column():
    """--map email=Phone (say) overrides the recognised columns."""
    _, records = read("no_email_column.csv", column_map={"email": "phone", "name": "Name"})
    assert (records[0].email, records[0].name) == ("123", "Ada")


def test_forcing_mailchimp_on_a_file_without_email_address_is_refused():
    """--format mailchimp needs Mailchimp's 'Email Address' column."""
    with pytest.raises(ImportFileError, match="not a Mailchimp export"):
        read("govdelivery.csv", wanted="mailchimp")


def test_an_empty_upload_is_refused():
    """Zero bytes is an error, not an import of nobody."""
    with pytest.raises(ImportFileError, match="empty"):
        open_bytes("empty.csv", b"")


def test_timestamps_in_the_formats_exports_use():
    """Mailchimp's naive UTC, listmonk's microseconds and offsets, ISO with Z; junk is None."""
    assert parse_time("2019-03-04 10:22:11").isoformat() == "2019-03-04T10:22:11+00:00"
    assert parse_time("2021-03-01 10:00:00.1234567+01:00").isoformat() == (
        "2021-03-01T09:00:00.123456+00:00"
    )
    assert parse_time("2023-04-05T06:07:08Z").hour == 6
    assert parse_time("yesterday") is None and parse_time("") is None
