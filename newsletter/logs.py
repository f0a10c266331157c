"""Log records never carry the values a database statement was given.

`hide_parameters` (config.static_defaults) keeps bound values out of SQLAlchemy's own messages
and of its statement log. A database's error can still quote them: PostgreSQL's DETAIL ("Key
(email_key)=(…) already exists", "Failing row contains (…)") and some primary messages ('invalid
input syntax for type integer: "…"'). The driver's exception is chained beneath SQLAlchemy's, so
every logged traceback (Flask's for a failed request, Dramatiq's for a failed actor, our own
`logger.exception`) printed them. `install` wraps the log record factory once per process: a
record whose exception, or any exception chained to it, comes from the database gets its
traceback text written here, where each database error says only its class, SQLSTATE and the
names (constraint, table, column) PostgreSQL reports, or SQLite's first line, which names no
value; a database error among a record's arguments is replaced the same way.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from sqlalchemy.exc import StatementError

_lock = threading.Lock()
_installed = False
_DRIVERS = {"psycopg", "sqlite3"}


def install() -> None:
    """Wrap the process's log record factory (once, whoever calls it first)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def scrub(record: logging.LogRecord) -> None:
    """Put the safe text of any database error in `record` where a formatter would look."""
    error = record.exc_info[1] if record.exc_info else None
    if error is not None and any(_is_database_error(e) for e in _chain(error)):
        record.exc_text = safe_traceback(error)
    if isinstance(record.args, tuple) and any(_is_database_error(a) for a in record.args):
        record.args = tuple(
            safe_message(a) if isinstance(a, BaseException) and _is_database_error(a) else a
            for a in record.args
        )


def _is_database_error(value: object) -> bool:
    if isinstance(value, StatementError):
        return True
    return isinstance(value, BaseException) and type(value).__module__.split(".")[0] in _DRIVERS


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and those chained beneath it, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return seen


def safe_message(error: BaseException) -> str:
    """What a database error may say in a log: its kind and the schema names it involves."""
    if isinstance(error, StatementError):
        orig = error.orig
        inner = safe_message(orig) if isinstance(orig, BaseException) else ""
        return f"{_name(error)}: {inner or 'database error'}"
    diag = getattr(error, "diag", None)
    if diag is not None:  # psycopg: the SQLSTATE and names, never the message or DETAIL
        names = [
            f"{label} {value}"
            for label, value in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if value
        ]
        sqlstate = getattr(error, "sqlstate", None) or "?"
        where = "; " + ", ".join(names) if names else ""
        return f"{_name(error)} (SQLSTATE {sqlstate}{where})"
    lines = str(error).strip().splitlines()
    return f"{_name(error)}: {lines[0] if lines else ''}"


def safe_traceback(error: BaseException) -> str:
    """A traceback like the standard one, with each database error's safe message."""
    parts: list[str] = []
    for depth, current in enumerate(reversed(_chain(error))):
        if depth:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(current.__traceback__))
        if _is_database_error(current):
            parts.append(safe_message(current) + "\n")
        else:
            parts.extend(traceback.format_exception_only(type(current), current))
    return "".join(parts).rstrip("\n")


def _name(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"
