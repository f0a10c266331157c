"""Opening an import file: a path or uploaded bytes, a plain file or a ZIP of CSVs.

Everything streams: the file is read once to fingerprint it (SHA-256, size) and to find out
whether it is UTF-8, then once more, a chunk at a time, by the reader.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from newsletter.imports.errors import ImportFileError

CHUNK = 1 << 20
UTF8 = "utf-8-sig"  # strips a byte order mark when there is one
CP1252 = "cp1252"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True)
class Member:
    """One text file to read: the file itself, or one CSV inside a ZIP."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]
    encoding: str = UTF8


@dataclass
class Source:
    """An import file, fingerprinted, with the text files it holds."""

    name: str
    sha256: str
    size: int
    members: list[Member]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(member.size for member in self.members)


def open_path(path: str | Path) -> Source:
    """A file on this machine's disk (the command line)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise ImportFileError(f"cannot read {path}: no such file")
        return _source(path.name, lambda: path.open("rb"))
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from error


def open_bytes(name: str, content: bytes) -> Source:
    """An uploaded file whose bytes were kept in the database."""
    return _source(name, lambda: io.BytesIO(content))


def _source(name: str, opener: Callable[[], IO[bytes]]) -> Source:
    digest, size, head = _fingerprint(opener)
    if size == 0:
        raise ImportFileError(f"{name} is empty")
    if head.startswith(b"PK\x03\x04"):
        members = _zip_members(name, opener)
    else:
        members = [Member(name=name, size=size, open=opener)]
    source = Source(name=name, sha256=digest, size=size, members=[])
    for member in members:
        encoding = UTF8 if _is_utf8(member.open) else CP1252
        if encoding == CP1252:
            source.warnings.append(
                f"{member.name} is not UTF-8; it was read as Windows-1252 (check names with "
                "accents in the result)"
            )
        source.members.append(
            Member(name=member.name, size=member.size, open=member.open, encoding=encoding)
        )
    return source


def _fingerprint(opener: Callable[[], IO[bytes]]) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with opener() as stream:
        while chunk := stream.read(CHUNK):
            if not head:
                head = chunk[:4]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


def _is_utf8(opener: Callable[[], IO[bytes]]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with opener() as stream:
        try:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _zip_members(name: str, opener: Callable[[], IO[bytes]]) -> list[Member]:
    try:
        with opener() as stream, zipfile.ZipFile(stream) as archive:
            infos = [info for info in archive.infolist() if _is_text_member(info)]
    except zipfile.BadZipFile as error:
        raise ImportFileError(f"{name} is not a ZIP file that can be read: {error}") from error
    if not infos:
        raise ImportFileError(f"{name} holds no CSV file")
    return [
        Member(name=info.filename, size=info.file_size, open=_member_opener(opener, info.filename))
        for info in infos
    ]


def _is_text_member(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rsplit("/", 1)[-1]
    return (
        not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not base.startswith(".")
        and base.lower().endswith(TEXT_SUFFIXES)
    )


def _member_opener(opener: Callable[[], IO[bytes]], member: str) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        raw = opener()
        archive = zipfile.ZipFile(raw)
        stream = archive.open(member)
        original_close = stream.close

        def close() -> None:
            # A ZipFile given a file object leaves it open: close all three together.
            original_close()
            archive.close()
            raw.close()

        # ZipExtFile has no hook for this; replacing the bound method is what closes all three.
        stream.close = close  # type: ignore[method-assign]
        return stream

    return open_member


def open_text(member: Member) -> io.TextIOWrapper:
    """The member as text, line endings kept (the csv module wants them); close it after."""
    errors = "replace" if member.encoding == CP1252 else "strict"
    return io.TextIOWrapper(member.open(), encoding=member.encoding, errors=errors, newline="")
