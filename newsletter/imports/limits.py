"""What an import reads at most, counted as the bytes come out.

A file may be hostile (a ZIP bomb, a file of blank lines, one endless line), so nothing is
trusted from what the file says about itself. `Limits` caps what an import reads: the
unpacked size of each file inside a ZIP and of the whole (`first_pass_cap`, `LimitedReader`),
how far a ZIP member unpacks against the packed bytes read for it (`ratio_check`,
`PackedCounter`), how large a ZIP's directory is before it is parsed (`check_directory`), and
the length of a line while a file is checked (`LineMeter`; while it is read, `sources.lines`,
and what is skipped before the header, `formats.first_line`). Opening a source is sources.py's.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from newsletter.imports.errors import ImportFileError

CHUNK = 1 << 20
MB = 1 << 20
KB = 1 << 10
# The packing ratio is judged once this much has come out: a small file says little.
RATIO_AFTER = MB
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


def first_pass_cap(name: str, member: str, limits: Limits, used: int) -> tuple[int, str]:
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


def ratio_check(name: str, member: str, limits: Limits) -> Callable[[int, int], None]:
    def check(unpacked: int, packed: int) -> None:
        if unpacked > RATIO_AFTER and unpacked > limits.ratio * max(packed, 1):
            raise ImportFileError(
                f"{member} inside {name} unpacks to more than {limits.ratio} times its packed "
                "size, which no real export does (IMPORT_MAX_RATIO); it was not read further"
            )

    return check


class LineMeter:
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


class PackedCounter:
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
        packed: PackedCounter | None,
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


def check_directory(name: str, stream: IO[bytes], limits: Limits) -> None:
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
