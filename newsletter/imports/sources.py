"""Opening an import file: a path or uploaded bytes, a plain file or a ZIP of CSVs.

Everything streams: the file is read once to fingerprint it (SHA-256, size) and to find out
whether it is UTF-8, then once more, a chunk at a time, by the reader. A file may be hostile,
so each pass reads through the caps of limits.py (`Limits`), counted as the bytes come out,
and how many entries a ZIP has is checked before any is opened. The first pass measures each
file's real size; later passes may not read past it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from newsletter.imports.errors import ImportFileError
from newsletter.imports.limits import (
    CHUNK,
    KB,
    MB,
    LimitedReader,
    Limits,
    LineMeter,
    PackedCounter,
    check_directory,
    first_pass_cap,
    ratio_check,
)

UTF8 = "utf-8-sig"  # strips a byte order mark when there is one
CP1252 = "cp1252"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
ZIP_MAGIC = b"PK\x03\x04"
# What a preview reads of each text file in an upload (open_head): past limits.RATIO_AFTER, so that
# a ZIP bomb is refused by the preview as by the import.
HEAD = 2 * MB


@dataclass(frozen=True)
class Member:
    """One text file to read: the file itself, or one CSV inside a ZIP.

    `size` is what the first pass counted coming out of it, and `open` gives a stream that
    refuses to run past that (or past the limits, before it was counted)."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]
    encoding: str = UTF8
    # Whether a `'` stands before a formula character anywhere in it: only then may a cell
    # carry the mark of a spreadsheet-safe export (newsletter/spreadsheet.py) to take off.
    marked: bool = False


@dataclass
class Source:
    """An import file, fingerprinted, with the text files it holds."""

    name: str
    sha256: str
    size: int
    members: list[Member]
    warnings: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    @property
    def total_bytes(self) -> int:
        return sum(member.size for member in self.members)


def open_path(path: str | Path, limits: Limits | None = None) -> Source:
    """A file on this machine's disk (the command line)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ImportFileError(f"cannot read {path}: no such file")
        return _source(path.name, lambda: path.open("rb"), limits or Limits())
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from error


def open_bytes(name: str, content: bytes, limits: Limits | None = None) -> Source:
    """An uploaded file whose bytes were kept in the database."""
    return _source(name, lambda: io.BytesIO(content), limits or Limits())


def open_head(name: str, content: bytes, limits: Limits | None = None, head: int = HEAD) -> Source:
    """Only the start of an uploaded file, for a preview: the first `head` bytes of each text
    file in it, under the same limits and refusals as a whole import (ZIP directory and
    entries, nested ZIPs, UTF-16, packing ratio, line length); nothing past them is read.
    Each member stops quietly at its head; `Member.size` is what was read of it."""
    limits = limits or Limits()
    if not content:
        raise ImportFileError(f"{name} is empty")
    if len(content) > limits.file_bytes:
        raise ImportFileError(
            f"{name} is larger than {limits.file_bytes // MB:,} MB, more than an import "
            "reads (IMPORT_MAX_FILE_MB); split it into smaller files"
        )

    def opener() -> IO[bytes]:
        return io.BytesIO(content)

    is_zip = content.startswith(ZIP_MAGIC)
    if is_zip:
        unmeasured = _zip_members(name, opener, limits)
    else:
        unmeasured = [(name, lambda: (opener(), None))]
    source = Source(name=name, sha256="", size=len(content), members=[], limits=limits)
    for member_name, raw in unmeasured:
        if is_zip and _starts_with_zip(raw):
            raise ImportFileError(
                f"{member_name} inside {name} is itself a ZIP file; unpack it and import the "
                "CSV inside"
            )
        cap = min(head, limits.member_bytes)
        ratio = ratio_check(name, member_name, limits)
        meter = LineMeter(member_name, limits.line_chars)
        measured, utf8, marked = _measure(raw, cap, "", ratio, meter, quiet=True)
        encoding = UTF8 if utf8 else CP1252
        if encoding == CP1252:
            source.warnings.append(
                f"{member_name} is not UTF-8; it will be read as Windows-1252 (check names "
                "with accents below)"
            )
        opener_after = _limited(raw, measured, "", ratio, quiet=True)
        source.members.append(Member(member_name, measured, opener_after, encoding, marked))
    return source


# A member before it is measured: a fresh stream of its unpacked bytes, and how many packed
# bytes have been read to give them (None for a plain file, which is not packed).
RawOpener = Callable[[], tuple[IO[bytes], "PackedCounter | None"]]


def _source(name: str, opener: Callable[[], IO[bytes]], limits: Limits) -> Source:
    digest, size, head = _fingerprint(name, opener, limits)
    if size == 0:
        raise ImportFileError(f"{name} is empty")
    is_zip = head.startswith(ZIP_MAGIC)
    if is_zip:
        unmeasured = _zip_members(name, opener, limits)
    else:
        unmeasured = [(name, lambda: (opener(), None))]
    source = Source(name=name, sha256=digest, size=size, members=[], limits=limits)
    used = 0
    for member_name, raw in unmeasured:
        if is_zip and _starts_with_zip(raw):
            raise ImportFileError(
                f"{member_name} inside {name} is itself a ZIP file; unpack it and import the "
                "CSV inside"
            )
        cap, too_big = first_pass_cap(name, member_name, limits, used)
        ratio = ratio_check(name, member_name, limits)
        meter = LineMeter(member_name, limits.line_chars)
        measured, utf8, marked = _measure(raw, cap, too_big, ratio, meter)
        used += measured
        encoding = UTF8 if utf8 else CP1252
        if encoding == CP1252:
            source.warnings.append(
                f"{member_name} is not UTF-8; it was read as Windows-1252 (check names with "
                "accents in the result)"
            )
        changed = f"{member_name} changed while it was being read; import it again"
        opener_after = _limited(raw, measured, changed, ratio_check(name, member_name, limits))
        source.members.append(Member(member_name, measured, opener_after, encoding, marked))
    return source


def _fingerprint(
    name: str, opener: Callable[[], IO[bytes]], limits: Limits
) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with opener() as stream:
        while chunk := stream.read(CHUNK):
            if not head:
                head = chunk[:4]
            digest.update(chunk)
            size += len(chunk)
            if size > limits.file_bytes:
                raise ImportFileError(
                    f"{name} is larger than {limits.file_bytes // MB:,} MB, more than an import "
                    "reads (IMPORT_MAX_FILE_MB); split it into smaller files"
                )
    return digest.hexdigest(), size, head


_MARKED = re.compile(rb"'[=+\-@\t\r']")


def _measure(
    raw: RawOpener,
    cap: int,
    too_big: str,
    ratio: Callable[[int, int], None],
    meter: LineMeter,
    quiet: bool = False,
) -> tuple[int, bool, bool]:
    """Read a member once, to its end or its cap: its unpacked size, whether it is UTF-8, and
    whether any cell may carry a spreadsheet mark. `quiet`: stop at the cap, as at an end."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    marked = False
    tail = b""
    with _limited(raw, cap, too_big, ratio, quiet)() as stream:
        chunk = stream.read(CHUNK)
        _refuse_utf16(meter.member, chunk)
        while chunk:
            meter.feed(chunk)
            if not marked:
                # A run of marks may straddle two chunks: a chunk ending in one counts.
                marked = tail == b"'" or _MARKED.search(chunk) is not None
                tail = chunk[-1:]
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            chunk = stream.read(CHUNK)
        size = stream.tell()
    if utf8 and not quiet:  # a head may end inside a character
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return size, utf8, marked


def _refuse_utf16(member: str, head: bytes) -> None:
    """A file saved as UTF-16 (Excel's "Unicode Text") has a UTF-16 byte order mark, or a NUL
    byte beside each Latin letter; read as UTF-8 or Windows-1252 it would be nonsense."""
    start = head[:4096]
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        start and start.count(0) * 4 >= len(start)
    ):
        raise ImportFileError(
            f'{member} is saved as UTF-16 (Excel\'s "Unicode Text"); save it as "CSV UTF-8" '
            "and upload it again"
        )


def _starts_with_zip(raw: RawOpener) -> bool:
    stream, _ = raw()
    with stream:
        return stream.read(4) == ZIP_MAGIC


def _limited(
    raw: RawOpener,
    limit: int,
    too_big: str,
    ratio: Callable[[int, int], None],
    quiet: bool = False,
) -> Callable[[], IO[bytes]]:
    def open_limited() -> IO[bytes]:
        stream, packed = raw()
        reader = LimitedReader(stream, packed, limit, too_big, ratio, quiet)
        return reader  # type: ignore[return-value]

    return open_limited


def _zip_members(
    name: str, opener: Callable[[], IO[bytes]], limits: Limits
) -> list[tuple[str, RawOpener]]:
    try:
        with opener() as stream:
            check_directory(name, stream, limits)
            with zipfile.ZipFile(stream) as archive:
                entries = archive.infolist()
                if len(entries) > limits.zip_files:
                    raise ImportFileError(
                        f"{name} holds {len(entries):,} files, more than the "
                        f"{limits.zip_files:,} an import opens (IMPORT_MAX_ZIP_FILES)"
                    )
                infos = [info for info in entries if _is_text_member(info)]
                nested = any(info.filename.lower().endswith(".zip") for info in entries)
    except zipfile.BadZipFile as error:
        raise ImportFileError(f"{name} is not a ZIP file that can be read: {error}") from error
    if not infos:
        if nested:
            raise ImportFileError(
                f"{name} holds no CSV file, only other ZIP files; unpack them and import the "
                "CSV inside"
            )
        raise ImportFileError(f"{name} holds no CSV file")
    for info in infos:
        # What the directory declares is judged at once, so that a preview (which reads only
        # a head, where zipfile's read-ahead hides the ratio) refuses a bomb as the import
        # would; a directory that lies is still caught by the count as the member is read.
        ratio_check(name, info.filename, limits)(info.file_size, info.compress_size)
    return [(info.filename, _member_opener(opener, info.filename)) for info in infos]


def _is_text_member(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rsplit("/", 1)[-1]
    return (
        not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not base.startswith(".")
        and base.lower().endswith(TEXT_SUFFIXES)
    )


def _member_opener(opener: Callable[[], IO[bytes]], member: str) -> RawOpener:
    def open_member() -> tuple[IO[bytes], PackedCounter]:
        packed = PackedCounter(opener())
        archive = zipfile.ZipFile(packed)
        stream = archive.open(member)
        original_close = stream.close

        def close() -> None:
            # A ZipFile given a file object leaves it open: close all three together.
            original_close()
            archive.close()
            packed.close()

        # ZipExtFile has no hook for this; replacing the bound method is what closes all three.
        stream.close = close  # type: ignore[method-assign]
        return stream, packed

    return open_member


def open_text(member: Member) -> io.TextIOWrapper:
    """The member as text, line endings kept (the csv module wants them); close it after."""
    errors = "replace" if member.encoding == CP1252 else "strict"
    return io.TextIOWrapper(member.open(), encoding=member.encoding, errors=errors, newline="")


def lines(text: io.TextIOWrapper, member: Member, limits: Limits) -> Iterator[str]:
    """The text's lines, each read to at most the line limit: one endless line is refused after
    that many characters instead of being read whole into memory."""
    limit = limits.line_chars
    number = 0
    while line := text.readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise ImportFileError(
                f"{member.name}: line {number:,} is longer than {limit // KB:,} KB "
                "(IMPORT_MAX_LINE_KB); is this a CSV export?"
            )
        yield line
