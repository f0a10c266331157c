"""Recognising an export by its header names (never by column positions) and reading it.

Formats: Mailchimp audience exports (subscribed, unsubscribed and cleaned CSVs), listmonk's
import and export CSVs, Mailman 3 address lists (no header), and any CSV with an email column.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from email.utils import parseaddr

from newsletter.imports.errors import ImportFileError
from newsletter.imports.records import ImportRecord, RowKind, join_name, parse_time
from newsletter.spreadsheet import unescape, unescape_row

FORMATS = ("auto", "csv", "mailchimp", "listmonk", "mailman")
DELIMITERS = (",", ";", "\t", "|")
MAPPABLE_FIELDS = ("email", "name", "first_name", "last_name")

# Header names compared without case, spaces, hyphens or underscores.
EMAIL_HEADERS = (
    "email", "emailaddress", "mail", "destination", "emailaddr", "subscriberemail",
    "recipient", "recipientemail",
)  # fmt: skip
NAME_HEADERS = ("name", "fullname", "displayname", "subscribername")
FIRST_NAME_HEADERS = ("firstname", "fname", "givenname", "forename")
LAST_NAME_HEADERS = ("lastname", "lname", "surname", "familyname")

EVIDENCE_COLUMNS = ("OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP")
MAILCHIMP_SYSTEM = frozenset(
    {
        "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LATITUDE",
        "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID",
        "EUID", "NOTES", "TAGS", "SSUB", "UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE",
        "UNSUB_CAMPAIGN_ID", "UNSUB_REASON", "UNSUB_REASON_OTHER", "CLEAN_TIME",
        "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID",
    }
)  # fmt: skip
# Enough of these next to "Email Address" says Mailchimp, whatever the export date added.
MAILCHIMP_MARKERS = frozenset(
    {"MEMBER_RATING", "OPTIN_TIME", "CONFIRM_TIME", "LAST_CHANGED", "LEID", "EUID"}
    | {"UNSUB_TIME", "CLEAN_TIME"}
)
LISTMONK_COLUMNS = frozenset({"uuid", "email", "name", "attributes", "status"})
LISTMONK_ALL = LISTMONK_COLUMNS | {"createdat", "updatedat", "id"}


def fold(header: str) -> str:
    """A header name compared loosely: 'E-mail Address' and 'email_address' are the same."""
    return re.sub(r"[\s_\-]+", "", header.strip().lstrip("\ufeff").lower())


def find_column(header: list[str], names: Iterable[str]) -> int | None:
    folded = [fold(h) for h in header]
    for name in names:
        if name in folded:
            return folded.index(name)
    return None


def sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header line most, outside quotes; ',' if none does."""
    outside = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


@dataclass(frozen=True)
class Layout:
    """How to read one file: its format, delimiter and which column is which."""

    format: str
    delimiter: str
    header: list[str]
    columns: dict[str, int]  # email, name, first_name, last_name -> index
    kind: RowKind = RowKind.MEMBER

    @property
    def has_header(self) -> bool:
        return self.format != "mailman"


# What the command line's sentence for a file with no email column advises; the web upload,
# which has no --map, says WEB_EMAIL_ADVICE in its place (web/admin/imports.py).
MAP_EMAIL_ADVICE = "name it with --map email=COLUMN"
WEB_EMAIL_ADVICE = (
    "the upload form maps columns by their names, so call the column that holds the "
    'addresses "email" in the file and upload it again'
)


def detect(first_line: str, wanted: str = "auto", column_map: dict | None = None) -> Layout:
    """Work out a file's format and columns from its first line; ImportFileError if we cannot."""
    column_map = column_map or {}
    delimiter = sniff_delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    header = [cell.lstrip("\ufeff").strip() for cell in header]
    if wanted == "mailman":
        return Layout("mailman", delimiter, [], {})
    columns = _columns(header, column_map)
    if "email" not in columns:
        if wanted == "auto" and not column_map and "@" in parseaddr(first_line.strip())[1]:
            return Layout("mailman", delimiter, [], {})
        shown = ", ".join(h for h in header if h)[:200] or "(empty)"
        raise ImportFileError(f"no email column in the header ({shown}); {MAP_EMAIL_ADVICE}")
    upper = {h.strip() for h in header}
    folded = {fold(h) for h in header}
    is_mailchimp = bool(upper & MAILCHIMP_MARKERS) and "emailaddress" in folded
    is_listmonk = "email" in folded and "attributes" in folded and folded <= LISTMONK_ALL
    if wanted == "auto":
        wanted = "mailchimp" if is_mailchimp else "listmonk" if is_listmonk else "csv"
    elif wanted == "mailchimp" and "emailaddress" not in folded:
        raise ImportFileError("this is not a Mailchimp export: it has no 'Email Address' column")
    elif wanted == "listmonk" and "email" not in folded:
        raise ImportFileError("this is not a listmonk CSV: it has no 'email' column")
    kind = RowKind.MEMBER
    if wanted == "mailchimp":
        kind = (
            RowKind.UNSUBSCRIBED
            if "UNSUB_TIME" in upper
            else RowKind.CLEANED
            if "CLEAN_TIME" in upper
            else RowKind.MEMBER
        )
    return Layout(wanted, delimiter, header, columns, kind)


def _columns(header: list[str], column_map: dict) -> dict[str, int]:
    columns: dict[str, int] = {}
    for field_name, names in (
        ("email", EMAIL_HEADERS),
        ("name", NAME_HEADERS),
        ("first_name", FIRST_NAME_HEADERS),
        ("last_name", LAST_NAME_HEADERS),
    ):
        index = find_column(header, names)
        if index is not None:
            columns[field_name] = index
    for field_name, column in column_map.items():
        index = find_column(header, [fold(column)])
        if index is None:
            raise ImportFileError(f"--map {field_name}={column}: the header has no such column")
        columns[field_name] = index
    return columns


def records(
    layout: Layout, file: str, lines: Iterator[str], marked: bool = True
) -> Iterator[ImportRecord]:
    """The file's rows as ImportRecords; `lines` starts at the file's first line. `marked`
    False says no cell carries a spreadsheet mark (sources.Member.marked): none is looked for."""
    if not layout.has_header:
        return _mailman_records(file, lines)
    reader = csv.reader(lines, delimiter=layout.delimiter)
    for header in reader:  # blank lines before the header are no rows
        if any(cell.strip() for cell in header):
            break
    make = _ROW_READERS[layout.format](layout, file)
    return _rows(reader, make, unescape_row if marked else None)


def _rows(
    reader,
    make: Callable[[int, list[str]], ImportRecord],
    unmark: Callable[[list[str]], list[str]] | None,
) -> Iterator[ImportRecord]:
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # Nearly always a quote left open: the reader ran on through the lines after it.
            raise ImportFileError(
                f'line {reader.line_num}: {error}; is a quote (") left open on or before it?'
            ) from error
        start, last = last + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        # A cell our own exports marked with "'" (spreadsheet safety) reads back as it was.
        yield make(start, unmark(row) if unmark else row)


def _mailman_records(file: str, lines: Iterator[str]) -> Iterator[ImportRecord]:
    for number, line in enumerate(lines, start=1):
        text = unescape(line.strip().lstrip("\ufeff"))
        if not text or text.startswith("#"):
            continue
        name, address = parseaddr(text)
        if "<" in text and address:
            yield ImportRecord(line=number, file=file, email=address, name=name.strip()[:200])
        else:
            yield ImportRecord(line=number, file=file, email=text)


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _name(row: list[str], columns: dict[str, int]) -> str:
    full = _cell(row, columns.get("name"))
    if full:
        return full[:200]
    return join_name(_cell(row, columns.get("first_name")), _cell(row, columns.get("last_name")))


def _other_columns(layout: Layout, skip: AbstractSet[str]) -> list[tuple[int, str]]:
    used = set(layout.columns.values())
    return [
        (index, name)
        for index, name in enumerate(layout.header)
        if index not in used and name and name not in skip
    ]


def _csv_reader(layout: Layout, file: str) -> Callable[[int, list[str]], ImportRecord]:
    others = _other_columns(layout, skip=set())
    email_at = layout.columns["email"]

    def make(line: int, row: list[str]) -> ImportRecord:
        attributes = {name: row[i].strip() for i, name in others if i < len(row) and row[i].strip()}
        return ImportRecord(
            line=line,
            file=file,
            email=_cell(row, email_at),
            name=_name(row, layout.columns),
            attributes=attributes,
        )

    return make


def _mailchimp_reader(layout: Layout, file: str) -> Callable[[int, list[str]], ImportRecord]:
    position = {name: i for i, name in enumerate(layout.header)}
    merge_fields = _other_columns(layout, skip=MAILCHIMP_SYSTEM)
    email_at, columns, kind = layout.columns["email"], layout.columns, layout.kind
    evidence_at = [(c, position[c]) for c in EVIDENCE_COLUMNS if c in position]
    ids_at = [(c, position[c]) for c in ("LEID", "EUID") if c in position]
    extra_at = [(key, position[c]) for c, key in (("TAGS", "tags"), ("NOTES", "notes"))
                if c in position]  # fmt: skip
    left_column = {RowKind.UNSUBSCRIBED: "UNSUB_TIME", RowKind.CLEANED: "CLEAN_TIME"}.get(kind)
    width = len(layout.header)
    name_at = columns.get("name")
    first_at, last_at = columns.get("first_name"), columns.get("last_name")

    def get(row: list[str], name: str) -> str:
        return _cell(row, position.get(name))

    def make(line: int, row: list[str]) -> ImportRecord:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        attributes = {n: v for i, n in merge_fields if (v := row[i].strip())}
        for key, i in extra_at:
            if value := row[i].strip():
                attributes[key] = value
        evidence = {c: v for c, i in evidence_at if (v := row[i].strip())}
        record = ImportRecord(
            line=line,
            file=file,
            email=row[email_at],
            kind=kind,
            # _name(row, columns), without its lookups (every row is `width` wide here)
            name=(
                row[name_at].strip()[:200]
                if name_at is not None and row[name_at].strip()
                else join_name(
                    row[first_at].strip() if first_at is not None else "",
                    row[last_at].strip() if last_at is not None else "",
                )
            ),
            attributes=attributes,
            evidence=evidence,
            source_ids={c: v for c, i in ids_at if (v := row[i].strip())},
            opted_in_at=parse_time(evidence.get("OPTIN_TIME")),
            confirmed_at=parse_time(evidence.get("CONFIRM_TIME")),
        )
        if left_column:
            record.left_at = parse_time(get(row, left_column))
            record.note = _leaving_note(row, get, kind)
        return record

    return make


def _leaving_note(row: list[str], get, kind: RowKind) -> str:
    if kind is RowKind.CLEANED:
        campaign = get(row, "CLEAN_CAMPAIGN_TITLE")
        return "cleaned by Mailchimp" + (f" after {campaign}" if campaign else "")
    reason = " – ".join(v for v in (get(row, "UNSUB_REASON"), get(row, "UNSUB_REASON_OTHER")) if v)
    campaign = get(row, "UNSUB_CAMPAIGN_TITLE")
    note = "unsubscribed in Mailchimp" + (f" from {campaign}" if campaign else "")
    return note + (f": {reason}" if reason else "")


def _listmonk_reader(layout: Layout, file: str) -> Callable[[int, list[str]], ImportRecord]:
    position = {fold(name): i for i, name in enumerate(layout.header)}
    email_at = layout.columns["email"]

    def get(row: list[str], name: str) -> str:
        return _cell(row, position.get(name))

    def make(line: int, row: list[str]) -> ImportRecord:
        record = ImportRecord(
            line=line,
            file=file,
            email=_cell(row, email_at),
            name=get(row, "name")[:200],
            opted_in_at=parse_time(get(row, "createdat")),
        )
        if uuid := get(row, "uuid"):
            record.source_ids = {"uuid": uuid}
        raw = get(row, "attributes")
        try:
            attributes = json.loads(raw) if raw else {}
        except ValueError:
            attributes = None
        if isinstance(attributes, dict):
            record.attributes = attributes
        else:
            record.problem = "attributes is not a JSON object"
        status = get(row, "status").lower()
        if status == "blocklisted":
            record.kind = RowKind.BLOCKLISTED
            record.left_at = parse_time(get(row, "updatedat"))
            record.note = "blocklisted in listmonk"
        elif status not in ("", "enabled"):
            record.problem = f"status '{status}' in listmonk: not imported"
        return record

    return make


_ROW_READERS = {"csv": _csv_reader, "mailchimp": _mailchimp_reader, "listmonk": _listmonk_reader}


def first_line(
    lines: Iterator[str], file: str = "", max_lines: int = 1000, max_chars: int = 64 * 1024
) -> tuple[str, Iterator[str]]:
    """The first non-blank line, and an iterator that still yields every line from the start.

    The blank lines before it are kept to be yielded again, so at most `max_lines` of them
    holding `max_chars` in all are read: a file of nothing but blank lines is refused after
    those, not held in memory to its end."""
    seen: list[str] = []
    skipped = 0
    for line in lines:
        seen.append(line)
        if line.strip().lstrip("\ufeff"):
            return line, itertools.chain(seen, lines)
        skipped += len(line)
        if len(seen) > max_lines or skipped > max_chars:
            where = f"{file}: " if file else ""
            raise ImportFileError(
                f"{where}more than {max_lines:,} blank lines or {max_chars // 1024:,} KB before "
                "the first row (IMPORT_MAX_SKIPPED_LINES, IMPORT_MAX_SKIPPED_KB); is this an "
                "export?"
            )
    return "", iter(seen)
