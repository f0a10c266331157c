"""The migration guide, docs/migration.md, as the admin shows it at /admin/imports/guide.

One source: the checkout's docs/migration.md, which the wheel carries inside the package as
newsletter/guides/migration.md (pyproject.toml maps the folder, as it does templates/).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

PACKAGE_DIR = Path(__file__).resolve().parent.parent
NAME = "migration.md"


def guide_path() -> Path:
    """The checkout's docs/migration.md, or the copy a wheel carries."""
    checkout = PACKAGE_DIR.parent / "docs" / NAME
    return checkout if checkout.is_file() else PACKAGE_DIR / "guides" / NAME


@cache
def guide_html() -> str:
    """The guide as HTML: CommonMark with tables; any raw HTML in it is shown as text."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return renderer.render(guide_path().read_text(encoding="utf-8"))
