"""What an upload would import, from the start of the file only: its format, which column
becomes what, and the first rows as the import would take them, each with its problem.

It reads through `sources.open_head` (the first HEAD bytes of each text file, under the same
limits and refusals as an import) and the same `reading` and `formats` code an import uses,
so the preview and the import agree; it touches no table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from newsletter.addresses import AddressValidator
from newsletter.imports.formats import MAILCHIMP_SYSTEM, fold
from newsletter.imports.limits import Limits
from newsletter.imports.reading import RecordStream
from newsletter.imports.records import RowKind
from newsletter.imports.sources import HEAD, Source, open_head

ROWS = 10

FORMAT_NAMES = {
    "mailchimp": "Mailchimp audience export",
    "listmonk": "listmonk CSV",
    "mailman": "Mailman address list",
    "csv": "CSV with an email column",
}
FIELD_NAMES = {
    "email": "email address",
    "name": "name",
    "first_name": "first name (joined to the last name)",
    "last_name": "last name (joined to the first name)",
}
EVIDENCE_NAMES = {
    "OPTIN_TIME": "consent evidence: when they signed up",
    "OPTIN_IP": "consent evidence: the IP address they signed up from",
    "CONFIRM_TIME": "consent evidence: when they confirmed",
    "CONFIRM_IP": "consent evidence: the IP address they confirmed from",
}
LISTMONK_NAMES = {
    "uuid": "listmonk's identifier, kept with the consent record",
    "status": "status: blocklisted people are suppressed, others subscribed",
    "attributes": "extra details (JSON), kept with the subscriber",
    "createdat": "consent evidence: when they signed up",
}
KIND_OUTCOMES = {
    RowKind.UNSUBSCRIBED: "added to the suppression list: unsubscribed at the old provider",
    RowKind.CLEANED: "added to the suppression list: cleaned at the old provider",
    RowKind.BLOCKLISTED: "added to the suppression list: blocklisted at the old provider",
}


@dataclass
class Column:
    file: str
    header: str
    becomes: str


@dataclass
class PreviewRow:
    file: str
    line: int
    email: str
    name: str
    outcome: str
    problem: str = ""


@dataclass
class Preview:
    format: str
    files: list[str]
    columns: list[Column]
    rows: list[PreviewRow]
    warnings: list[str] = field(default_factory=list)

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format, self.format)

    @property
    def problems(self) -> int:
        return sum(1 for row in self.rows if row.problem)


def _becomes(fmt: str, header: str, field_of: dict[int, str], index: int) -> str:
    if index in field_of:
        return FIELD_NAMES[field_of[index]]
    if fmt == "mailchimp":
        if header in EVIDENCE_NAMES:
            return EVIDENCE_NAMES[header]
        if header in ("LEID", "EUID"):
            return "Mailchimp's identifier, kept with the consent record"
        if header in ("UNSUB_TIME", "CLEAN_TIME"):
            return "when they left, kept with the suppression"
        if header in ("TAGS", "NOTES"):
            return "extra details, kept with the subscriber"
        if header in MAILCHIMP_SYSTEM:
            return "not imported"
        return "extra details, kept with the subscriber"
    if fmt == "listmonk":
        return LISTMONK_NAMES.get(fold(header), "not imported")
    return "extra details, kept with the subscriber" if header else "not imported"


def preview(
    name: str,
    content: bytes,
    wanted: str,
    consent: str,
    limits: Limits | None = None,
    rows: int = ROWS,
) -> Preview:
    """The preview of an upload; ImportFileError, with the import's own sentence, for a file
    an import would refuse on what its head shows."""
    source = open_head(name, content, limits)
    stream = RecordStream(source, wanted)
    columns = []
    for planned in stream.members:
        layout = planned.layout
        field_of = {index: key for key, index in layout.columns.items()}
        if not layout.has_header:
            columns.append(Column(planned.member.name, "(each line)", FIELD_NAMES["email"]))
        for index, header in enumerate(layout.header):
            becomes = _becomes(layout.format, header, field_of, index)
            columns.append(Column(planned.member.name, header or "(blank)", becomes))
    joined = (
        "subscribed to the list as confirmed"
        if consent == "keep"
        else "added to the list as pending, to confirm later"
    )
    check = AddressValidator().check
    seen: dict[str, int] = {}
    shown: list[PreviewRow] = []
    for record in itertools.islice(_complete(stream, source), rows):
        checked = record.problem or check(record.email)
        row = PreviewRow(record.file, record.line, record.email, record.name, "")
        if isinstance(checked, str):
            row.problem = checked
            row.outcome = "refused"
        elif checked[1] in seen:
            row.problem = f"repeats line {seen[checked[1]]:,}"
            row.outcome = "counted as a duplicate"
        else:
            seen[checked[1]] = record.line
            row.outcome = KIND_OUTCOMES.get(record.kind, joined)
        shown.append(row)
    return Preview(
        stream.format,
        [planned.member.name for planned in stream.members],
        columns,
        shown,
        list(source.warnings),
    )


def _complete(stream: RecordStream, source: Source):
    """The stream's records less a last one a file's head may have cut short."""
    records = iter(stream)
    previous = next(records, None)
    for record in records:
        if previous is not None:
            yield previous
        previous = record
    if previous is not None and not _cut(source, previous.file):
        yield previous


def _cut(source: Source, file: str) -> bool:
    member = next((m for m in source.members if m.name == file), None)
    return member is not None and member.size >= min(HEAD, source.limits.member_bytes)
