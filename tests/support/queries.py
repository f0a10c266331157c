"""Reading what the database saw: the SQL statements a piece of code sends (to keep hot paths
from growing) and the actions the audit log recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from newsletter.extensions import db
from newsletter.models import AuditEvent


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


def audit_actions() -> list[str]:
    """The action of every audit event, oldest first."""
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
