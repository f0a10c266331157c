"""Counting the SQL statements a piece of code sends, to keep hot paths from growing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from newsletter.extensions import db


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every statement sent to the app's database inside the block, in order."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
