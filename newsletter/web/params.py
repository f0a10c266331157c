"""What a URL may carry to a query: ids within the database's range, slugs of the list format,
and no NUL byte in the query string.

Werkzeug's `int` converter takes any number of digits, and a 20-digit id overflows SQLite's
and PostgreSQL's integers: a 500 instead of a 404. PostgreSQL also refuses any text holding a
NUL byte, so a `%00` in a slug or a search box was a 500 there. Here, for every route at once:
the `int` converter is replaced by `IdConverter` (1 to MAX_ID, so an id out of range is a 404
before any view runs), `slug` matches only what `lists.check_slug` allows, `to_id` bounds ids
read from a query string or form (`request.args.get(name, type=to_id)` gives None for anything
else), and `refuse_nul_bytes` answers 400 for a NUL in the query string. (Form fields: see
`forms.BaseForm`.)
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from newsletter.lists import SLUG_PATTERN
from newsletter.models.base import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:name>` for every route: a row id, 1 to MAX_ID, digits only."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


class SlugConverter(BaseConverter):
    """`<slug:name>`: a list's slug as `lists.check_slug` allows it, nothing else."""

    regex = SLUG_PATTERN.pattern


def to_id(raw: str) -> int:
    """An id from a query string or form field; ValueError (so None from `.get`) otherwise."""
    if not raw.isascii() or not raw.isdigit():
        raise ValueError("not an id")
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise ValueError("not an id")
    return value


def refuse_nul_bytes() -> None:
    """400 for a NUL byte in the query string, which no form validates.

    A NUL in the path fails its converter or the view's token check, and one in a form field
    its field's validator (`forms.no_control_characters`), each with its own clear page.
    """
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            abort(400)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: its rules take their converters when added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["slug"] = SlugConverter
    app.before_request(refuse_nul_bytes)
