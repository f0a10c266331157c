"""Hostile import files, generated: each is what an attacker could upload in place of an export.

Used by tests/imports/test_hostile_files.py, and by bench/import_hostile.py to measure the
worker's peak memory on each (at full size there; the tests use smaller ones, which the same
limits stop the same way).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

MB = 1 << 20
HEADER = b"Email Address,First Name,Last Name\r\n"
ROW = b"ada@example.org,Ada,Lovelace\r\n"


def zip_bomb(folder: Path, unpacked_mb: int = 200) -> Path:
    """A small ZIP whose one CSV unpacks to `unpacked_mb` MB of blank lines, then a header
    (200 MB packs into about 200 KB: the review's file)."""
    path = folder / "members_export.zip"
    blank = b"\n" * MB
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("subscribed_members_export.csv", "w", force_zip64=True) as member,
    ):
        for _ in range(unpacked_mb):
            member.write(blank)
        member.write(HEADER + ROW)
    return path


def blank_lines(folder: Path, size_mb: int = 20, extra: int = 0) -> Path:
    """A CSV of `size_mb` MB (and `extra` bytes) of blank lines before its header (the
    review's 20 MB file)."""
    path = folder / "blank.csv"
    blank = b"\n" * MB
    with path.open("wb") as out:
        for _ in range(size_mb):
            out.write(blank)
        out.write(b"\n" * extra + HEADER + ROW)
    return path


def huge_line(folder: Path, size_mb: int = 60, extra: int = 0) -> Path:
    """A header, one good row, then one line of `size_mb` MB (and `extra` bytes) with no
    line end."""
    path = folder / "one_line.csv"
    chunk = b"x" * MB
    with path.open("wb") as out:
        out.write(HEADER + ROW)
        for _ in range(size_mb):
            out.write(chunk)
        out.write(b"x" * extra)
    return path


def nested_zip(folder: Path, depth: int = 20) -> Path:
    """A ZIP holding a ZIP holding a ZIP… `depth` deep, a CSV at the bottom."""
    content = HEADER + ROW
    name = "subscribed_members_export.csv"
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, content)
        content, name = buffer.getvalue(), f"level{level}.zip"
    path = folder / "nested.zip"
    path.write_bytes(content)
    return path


def zip_as_csv(folder: Path) -> Path:
    """A ZIP whose one member is named like a CSV but is itself a ZIP."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("subscribed_members_export.csv", HEADER + ROW)
    path = folder / "disguised.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("subscribed_members_export.csv", inner.getvalue())
    return path


def many_members(folder: Path, count: int = 100_000) -> Path:
    """A ZIP of `count` tiny CSVs (its directory alone is several MB at the default count)."""
    path = folder / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for number in range(count):
            archive.writestr(f"{number}.csv", HEADER)
    return path


def big_member(folder: Path, size_mb: int) -> Path:
    """A ZIP of one plausible CSV of `size_mb` MB of rows (for a small IMPORT_MAX_MEMBER_MB)."""
    path = folder / "big.zip"
    rows = ROW * (MB // len(ROW) + 1)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("subscribed_members_export.csv", "w", force_zip64=True) as member,
    ):
        member.write(HEADER)
        for _ in range(size_mb):
            member.write(rows)
    return path


# Name -> generator at full size, for the benchmark.
FULL_SIZE: dict[str, Callable[[Path], Path]] = {
    "zip bomb (200 MB of blank lines)": zip_bomb,
    "CSV of blank lines (20 MB)": blank_lines,
    "one 60 MB line": huge_line,
    "ZIP nested 20 deep": nested_zip,
    "ZIP member that is a ZIP": zip_as_csv,
    "ZIP of 100,000 members": many_members,
}
