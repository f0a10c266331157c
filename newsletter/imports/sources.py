"""Opening an import file: a path or uploaded bytes, a plain file or a ZIP of CSVs.

Everything streams: the file is read once to fingerprint it (SHA-256, size) and to find out
whether it is UTF-8, then once more, a chunk at a time, by the reader.

A file may be hostile (a ZIP bomb, a file of blank lines, one endless line), so nothing is
trusted from what the file says about itself. `Limits` caps what an import reads, and every
cap is counted as the bytes come out: the unpacked size of each file inside a ZIP and of the
whole, how far a ZIP member unpacks against the packed bytes read for it, how many entries a
ZIP has (and how large its directory is, before it is parsed), and, in `lines` and
`formats.first_line`, the length of a line and what is skipped before the header. The first
pass measures each file's real size; later passes may not read past it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from newsletter.imports.errors import ImportFileError

CHUNK = 1 << 20
MB = 1 << 20
KB = 1 << 10
UTF8 = "utf-8-sig"  # strips a byte order mark when there is one
CP1252 = "cp1252"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
ZIP_MAGIC = b"PK\x03\x04"
# The packing ratio is judged once this much has come out: a small file says little.
RATIO_AFTER = MB
# What a preview reads of each text file in an upload (open_head): past RATIO_AFTER, so that
# a ZIP bomb is refused by the preview as by the import.
HEAD = 2 * MB
# The bytes of a ZIP's central directory each allowed entry may take (name and extras).
DIRECTORY_BYTES_PER_ENTRY = 4096


@dataclass(frozen=True)
class Limits:
    """What an import file may hold; the settings of the same names, in README.md."""

    file_bytes: int = 2048 * MB  # IMPORT_MAX_FILE_MB: the whole file, unpacked
    member_bytes: int = 1024 * MB  # IMPORT_MAX_MEMBER_MB: one file inside a ZIP, unpacked
    ratio: int = 100  # IMPORT_MAX_RATIO: unpacked bytes per packed byte of a ZIP member
    zip_files: int = 50  # IMPORT_MAX_ZIP_FILES: entries in a ZIP
    line_chars: int = 1024 * KB  # IMPORT_MAX_LINE_KB: one line
    skipped_lines: int = 1000  # IMPORT_MAX_SKIPPED_LINES: blank lines before the header
    skipped_chars: int = 64 * KB  # IMPORT_MAX_SKIPPED_KB: what those lines may hold

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits an app's settings give (the defaults for any setting not there)."""
        base = cls()
        return cls(
            file_bytes=int(config.get("IMPORT_MAX_FILE_MB", base.file_bytes // MB)) * MB,
            member_bytes=int(config.get("IMPORT_MAX_MEMBER_MB", base.member_bytes // MB)) * MB,
            ratio=int(config.get("IMPORT_MAX_RATIO", base.ratio)),
            zip_files=int(config.get("IMPORT_MAX_ZIP_FILES", base.zip_files)),
            line_chars=int(config.get("IMPORT_MAX_LINE_KB", base.line_chars // KB)) * KB,
            skipped_lines=int(config.get("IMPORT_MAX_SKIPPED_LINES", base.skipped_lines)),
            skipped_chars=int(config.get("IMPORT_MAX_SKIPPED_KB", base.skipped_chars // KB)) * KB,
        )


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
        ratio = _ratio_check(name, member_name, limits)
        meter = _LineMeter(member_name, limits.line_chars)
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
RawOpener = Callable[[], tuple[IO[bytes], "_Counter | None"]]


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
        cap, too_big = _first_pass_cap(name, member_name, limits, used)
        ratio = _ratio_check(name, member_name, limits)
        meter = _LineMeter(member_name, limits.line_chars)
        measured, utf8, marked = _measure(raw, cap, too_big, ratio, meter)
        used += measured
        encoding = UTF8 if utf8 else CP1252
        if encoding == CP1252:
            source.warnings.append(
                f"{member_name} is not UTF-8; it was read as Windows-1252 (check names with "
                "accents in the result)"
            )
        changed = f"{member_name} changed while it was being read; import it again"
        opener_after = _limited(raw, measured, changed, _ratio_check(name, member_name, limits))
        source.members.append(Member(member_name, measured, opener_after, encoding, marked))
    return source


def _first_pass_cap(name: str, member: str, limits: Limits, used: int) -> tuple[int, str]:
    """How far the first pass may read `member`, and the sentence when it goes further."""
    left = limits.file_bytes - used
    if left < limits.member_bytes:
        return left, (
            f"{name} holds more than {limits.file_bytes // MB:,} MB of text once unpacked, more "
            "than an import reads (IMPORT_MAX_FILE_MB); split it into smaller files"
        )
    where = member if member == name else f"{member} inside {name}"
    return limits.member_bytes, (
        f"{where} is larger than {limits.member_bytes // MB:,} MB once unpacked, more than an "
        "import reads of one file (IMPORT_MAX_MEMBER_MB); split it into smaller files"
    )


def _ratio_check(name: str, member: str, limits: Limits) -> Callable[[int, int], None]:
    def check(unpacked: int, packed: int) -> None:
        if unpacked > RATIO_AFTER and unpacked > limits.ratio * max(packed, 1):
            raise ImportFileError(
                f"{member} inside {name} unpacks to more than {limits.ratio} times its packed "
                "size, which no real export does (IMPORT_MAX_RATIO); it was not read further"
            )

    return check


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


class _LineMeter:
    """Finds a line longer than the limit in a member's bytes, chunk by chunk, so that the
    check refuses the file before any of it is imported (the reader's `lines` would only
    stop on reaching that line). A line ends at a line feed or a carriage return."""

    def __init__(self, member: str, limit: int) -> None:
        self.member = member
        self.limit = limit
        self.open_line = 0  # bytes since the last line end
        self.line = 1

    def feed(self, chunk: bytes) -> None:
        ends = [at for at in (chunk.find(b"\n"), chunk.find(b"\r")) if at >= 0]
        if not ends:
            self.open_line += len(chunk)
        else:
            self.open_line += min(ends)
            self._check()
            if self.limit < len(chunk):
                # A whole line may fit inside one chunk: look at each.
                longest = max(map(len, _LINE_ENDS.split(chunk)))
                self.open_line = max(self.open_line, longest)
                self._check()
            self.line += chunk.count(b"\n") or chunk.count(b"\r")
            self.open_line = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        self._check()

    def _check(self) -> None:
        if self.open_line > self.limit:
            raise ImportFileError(
                f"{self.member}: a line near line {self.line:,} is longer than "
                f"{self.limit // KB:,} KB (IMPORT_MAX_LINE_KB); is this a CSV export?"
            )


_LINE_ENDS = re.compile(rb"[\r\n]")
_MARKED = re.compile(rb"'[=+\-@\t\r']")


def _measure(
    raw: RawOpener,
    cap: int,
    too_big: str,
    ratio: Callable[[int, int], None],
    meter: _LineMeter,
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


class _Counter:
    """Counts the bytes read through it from a file object a ZipFile reads (packed bytes)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self.stream.close()


class LimitedReader(io.BufferedIOBase):
    """A member's unpacked bytes, counted as they come out: past `limit`, or unpacking faster
    than the ratio allows, reading stops with ImportFileError and its sentence."""

    def __init__(
        self,
        stream: IO[bytes],
        packed: _Counter | None,
        limit: int,
        too_big: str,
        ratio: Callable[[int, int], None],
        quiet: bool = False,
    ) -> None:
        super().__init__()
        self._quiet = quiet  # stop at `limit` as at an end of file (a preview's head)
        self._stream = stream
        self._packed = packed
        self._limit = limit
        self._too_big = too_big
        self._ratio = ratio
        self._out = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        # One byte past the limit is enough to know it was passed.
        try:
            data = self._stream.read(min(size, self._limit - self._out + (0 if self._quiet else 1)))
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ImportFileError(f"the ZIP file is damaged and cannot be read: {error}") from error
        self._out += len(data)
        if self._out > self._limit:
            raise ImportFileError(self._too_big)
        if self._packed is not None:
            self._ratio(self._out, self._packed.count)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size if size >= 0 else CHUNK)

    def tell(self) -> int:
        return self._out

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


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
            _check_directory(name, stream, limits)
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
        _ratio_check(name, info.filename, limits)(info.file_size, info.compress_size)
    return [(info.filename, _member_opener(opener, info.filename)) for info in infos]


def _check_directory(name: str, stream: IO[bytes], limits: Limits) -> None:
    """Refuse a ZIP whose central directory is larger than its allowed entries need, before
    zipfile reads it whole and makes an object of every entry in it."""
    stream.seek(0, io.SEEK_END)
    end = stream.tell()
    tail_size = min(end, 22 + 65535)
    stream.seek(end - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise ImportFileError(f"{name} is not a ZIP file that can be read: no end of directory")
    directory = struct.unpack_from("<I", tail, at + 12)[0]
    if directory == 0xFFFFFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        # ZIP64: the real size is in the ZIP64 end record the locator points at.
        record_at = struct.unpack_from("<Q", tail, at - 20 + 8)[0]
        stream.seek(record_at)
        record = stream.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            directory = struct.unpack_from("<Q", record, 40)[0]
    stream.seek(0)
    if directory > limits.zip_files * DIRECTORY_BYTES_PER_ENTRY:
        raise ImportFileError(
            f"{name} has a directory of {directory:,} bytes, more than the "
            f"{limits.zip_files:,} files an import opens can need (IMPORT_MAX_ZIP_FILES)"
        )


def _is_text_member(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rsplit("/", 1)[-1]
    return (
        not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not base.startswith(".")
        and base.lower().endswith(TEXT_SUFFIXES)
    )


def _member_opener(opener: Callable[[], IO[bytes]], member: str) -> RawOpener:
    def open_member() -> tuple[IO[bytes], _Counter]:
        packed = _Counter(opener())
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
