"""A source's records, file after file, with how far through its bytes the reading is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, cast

from newsletter.imports.errors import ImportFileError
from newsletter.imports.formats import FORMATS, Layout, detect, first_line, records
from newsletter.imports.limits import Limits
from newsletter.imports.records import ImportRecord, RowKind
from newsletter.imports.sources import Member, Source, lines, open_text


@dataclass(frozen=True)
class PlannedMember:
    member: Member
    layout: Layout


class RecordStream:
    """Detects each file's layout up front (so errors come before any work), then streams.

    Leavers' files (Mailchimp's unsubscribed and cleaned) are read before the subscribed one,
    so that a person in both is suppressed rather than imported.
    """

    def __init__(self, source: Source, wanted: str = "auto", column_map: dict | None = None):
        if wanted not in FORMATS:
            raise ImportFileError(f"unknown format '{wanted}'; use one of {', '.join(FORMATS)}")
        self.source = source
        limits = source.limits
        planned = [
            PlannedMember(m, self._layout(m, wanted, column_map, limits)) for m in source.members
        ]
        formats = {p.layout.format for p in planned}
        if len(formats) > 1:
            mixed = ", ".join(sorted(formats))
            raise ImportFileError(f"the files in {source.name} are in different formats ({mixed})")
        self.format = formats.pop()
        self.members = sorted(planned, key=lambda p: p.layout.kind is RowKind.MEMBER)
        self._done_bytes = 0
        # The binary stream under the member being read, for the bytes read so far.
        self._current: IO[bytes] | None = None

    @staticmethod
    def _layout(member: Member, wanted: str, column_map: dict | None, limits: Limits) -> Layout:
        with open_text(member) as text:
            line, _ = first_line(
                lines(text, member, limits),
                member.name,
                max_lines=limits.skipped_lines,
                max_chars=limits.skipped_chars,
            )
        if not line:
            raise ImportFileError(f"{member.name} has no rows")
        try:
            return detect(line, wanted, column_map)
        except ImportFileError as error:
            raise ImportFileError(f"{member.name}: {error}") from error

    @property
    def bytes_total(self) -> int:
        return self.source.total_bytes

    def bytes_done(self) -> int:
        current = 0
        if self._current is not None:
            try:
                current = self._current.tell()
            except (OSError, ValueError):
                current = 0
        return self._done_bytes + current

    def __iter__(self) -> Iterator[ImportRecord]:
        for planned in self.members:
            with open_text(planned.member) as text:
                self._current = cast("IO[bytes]", text.buffer)  # open_text wraps one
                bounded = lines(text, planned.member, self.source.limits)
                member = planned.member
                yield from records(planned.layout, member.name, bounded, member.marked)
            self._current = None
            self._done_bytes += planned.member.size
