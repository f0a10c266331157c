"""CSV that is safe to open in a spreadsheet, and reading it back unchanged.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a
carriage return) as a formula: a subscriber named `=HYPERLINK("http://evil","x")` would become
a live link, or worse, on the secretariat's machine. Every CSV the product writes goes through
`writer`, which puts one `'` before such a cell (spreadsheets show the cell as the text it is
and hide the `'`). `unescape` is the importer's half: it removes that one `'`, so the product
reads its own exports back as they were.

So that the round trip holds for every value, a cell that already starts with `'` in front of
one of those characters (a name typed as `'=x`) gets one more `'`, and `unescape` removes one:
`'` marks are added and removed only in front of a run of `'` that ends in a formula character.
Only text cells are escaped; numbers and dates come from the product, not from a person.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"
# A cell a spreadsheet would run: formula characters after any number of marks.
_RISKY = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


def escape(value: Any) -> Any:
    """The cell as written: text a spreadsheet would run gets one `'` in front."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r'" and _RISKY.match(value):
        return MARK + value
    return value


def unescape(cell: str) -> str:
    """The cell as it was before `escape`: one leading `'` off, only in front of a formula."""
    if cell[:1] == MARK and _ESCAPED.match(cell):
        return cell[1:]
    return cell


def unescape_row(row: list[str]) -> list[str]:
    """`unescape` over a row; the row itself when no cell starts with `'` (nearly every row)."""
    if row and (row[0][:1] == MARK or "\n'" in "\n".join(row)):
        return [unescape(cell) for cell in row]
    return row


class SafeWriter:
    """`csv.writer` with every cell passed through `escape`."""

    def __init__(self, stream: TextIO, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([escape(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows([escape(value) for value in row] for row in rows)


def writer(stream: TextIO, **options: Any) -> SafeWriter:
    """The one CSV writer of the product: like `csv.writer`, safe to open in a spreadsheet."""
    return SafeWriter(stream, **options)
