"""Writing a person we have never seen, with their subscriptions and consent events, at once.

The public form's hot path (newsletter.subscriptions.request_subscription tries it first): the
subscriber row is inserted only if nobody holds the address yet and no suppression reason
stands against it, and the rows that belong to the person follow in the same statement on
PostgreSQL. When the person is known or suppressed nothing is written, and the caller takes
the general path, which looks both up and decides what they mean.
"""

from __future__ import annotations

from functools import cache
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.extensions import db
from newsletter.models import Subscriber, SuppressionEntry, SuppressionEntryReason

Rows = list[tuple[sa.Table, dict]]

# One statement per shape of sign-up (how many lists, single or double opt-in), built once so
# that SQLAlchemy's compiled cache serves it.
_STATEMENTS: dict[tuple, sa.Executable] = {}


def insert_new_person(person: dict, key_hash: str, children: Rows) -> int | None:
    """The new subscriber's id, or None (nothing written) if known or suppressed.

    `children` are rows of tables with a `subscriber_id` column, written in the order given.
    """
    dialect = db.session.get_bind().dialect.name
    single_statement = dialect == "postgresql"
    rows = [(Subscriber.__table__, person), *children]
    rows = [(table, _with_python_defaults(table, row)) for table, row in rows]
    shape = (single_statement,) + tuple((table.name, tuple(row)) for table, row in rows)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        build = _chained_inserts if single_statement else _person_insert
        statement = _STATEMENTS.setdefault(shape, build(rows, dialect))
    parameters = {f"r{n}_{k}": v for n, (_, row) in enumerate(rows) for k, v in row.items()}
    parameters["key_hash"] = key_hash
    if single_statement and not db.session().in_transaction():
        # One statement is atomic on its own: outside a transaction it needs no BEGIN and
        # COMMIT (two of the three round trips of a sign-up), nor the session's bookkeeping.
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            return connection.execute(statement, parameters).scalar()
    connection = db.session.connection()
    subscriber_id = connection.execute(statement, parameters).scalar()
    if subscriber_id is not None and not single_statement:
        for table, group in groupby(children, key=itemgetter(0)):
            rows = [{**row, "subscriber_id": subscriber_id} for _, row in group]
            connection.execute(sa.insert(table), rows)
    return subscriber_id


def _person_insert(rows: Rows, dialect: str) -> sa.Insert:
    """INSERT the person (the first row) unless known or suppressed, RETURNING the id."""
    table, person = rows[0]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    standing = (
        sa.select(SuppressionEntryReason.id)
        .join(SuppressionEntry)
        .where(
            SuppressionEntry.key_hash == sa.bindparam("key_hash"),
            SuppressionEntryReason.lifted_at.is_(None),
        )
    )
    values = sa.select(*(sa.bindparam(f"r0_{k}", type_=table.c[k].type) for k in person))
    return (
        insert(table)
        .from_select(list(person), values.where(~standing.exists()), include_defaults=False)
        .on_conflict_do_nothing()  # the address is taken: a known person
        .returning(table.c.id)
    )


def _chained_inserts(rows: Rows, dialect: str) -> sa.Select:
    """The person's INSERT and the other rows' as one PostgreSQL statement.

    Each INSERT after the first selects the new id from the RETURNING of the one before: the
    chain makes PostgreSQL write (and number) the rows in order, which sibling WITH queries
    would not, so consent events keep the order they happened in.
    """
    previous = _person_insert(rows, dialect).cte("new_row_0")
    for n, (table, row) in enumerate(rows[1:], start=1):
        columns = [sa.bindparam(f"r{n}_{k}", type_=table.c[k].type) for k in row]
        chained = sa.insert(table).from_select(
            ["subscriber_id", *row], sa.select(previous.c[0], *columns), include_defaults=False
        )
        previous = chained.returning(table.c.subscriber_id).cte(f"new_row_{n}")
    return sa.select(previous.c[0])


def _with_python_defaults(table: sa.Table, row: dict) -> dict:
    """The row with the column defaults SQLAlchemy computes in Python, which INSERT … SELECT
    and WITH clauses leave out."""
    defaults = {
        name: default.arg(None) if default.is_callable else default.arg
        for name, default in _python_defaults(table)
        if name not in row
    }
    return defaults | row


@cache
def _python_defaults(table: sa.Table) -> tuple[tuple[str, sa.ColumnDefault], ...]:
    return tuple(
        (column.name, column.default)
        for column in table.columns
        if isinstance(column.default, sa.ColumnDefault)
    )
