"""Writing a new person in one round trip: their subscriber row, subscriptions and consent
events, or nothing if the address is taken (or suppressed) by then.

On PostgreSQL this is one statement (chained INSERTs, each selecting the id the one before
returned); on SQLite an INSERT … ON CONFLICT DO NOTHING RETURNING for the person, then the
children. A public sign-up form's common case is a person nobody holds: the sign-up benchmark
misses its target without this.
"""

from __future__ import annotations

from functools import cache
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import Subscriber, SuppressionEntry

Rows = list[tuple[sa.Table, dict]]

# One statement per shape of sign-up (how many lists, single or double opt-in, checked against
# the suppression list or not), built once so that SQLAlchemy's compiled cache serves it.
_STATEMENTS: dict[tuple, sa.Executable] = {}


def insert_new_person(
    person: dict, children: Rows, unless_suppressed: str | None = None
) -> int | None:
    """Write a subscriber row and its children; the new id, or None (nothing written).

    Nothing is written if the address is taken, nor, when `unless_suppressed` gives the
    address's suppression hash, if a reason stands against it. `children` are rows of tables
    with a `subscriber_id` column, written in the order given. The caller commits if a
    transaction is open; on PostgreSQL outside one, the single statement commits itself.
    """
    dialect = db.session.get_bind().dialect.name
    single_statement = dialect == "postgresql"
    guarded = unless_suppressed is not None
    # `suppressed` is computed by the INSERT (_person_insert), never taken from the caller.
    rows = [(Subscriber.__table__, {**person, "suppressed": False}), *children]
    rows = [(table, _with_python_defaults(table, row)) for table, row in rows]
    shape = (single_statement, guarded) + tuple((table.name, tuple(row)) for table, row in rows)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        build = _chained_inserts if single_statement else _person_insert
        statement = _STATEMENTS.setdefault(shape, build(rows, dialect, guarded))
    parameters = {f"r{n}_{k}": v for n, (_, row) in enumerate(rows) for k, v in row.items()}
    del parameters["r0_suppressed"]
    if guarded:
        parameters["key_hash"] = unless_suppressed
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
            children_rows = [{**row, "subscriber_id": subscriber_id} for _, row in group]
            connection.execute(sa.insert(table), children_rows)
    return subscriber_id


def _person_insert(rows: Rows, dialect: str, guarded: bool) -> sa.Insert:
    """INSERT the person (the first row) unless known (or, guarded, suppressed), RETURNING id."""
    table, person = rows[0]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    columns = [
        sa.bindparam(f"r0_{k}", type_=table.c[k].type) if k != "suppressed"
        # The display flag (models/subscribers.py), from the suppression list in this same
        # statement, so it holds on both paths, in the session's transaction or not; guarded,
        # the person is written only if nothing stands, so it is false.
        else sa.false() if guarded
        else suppression.suppressed_sql(sa.bindparam("r0_key_hash", type_=table.c.key_hash.type))
        for k in person
    ]  # fmt: skip
    values = sa.select(*columns)
    if guarded:
        standing = suppression.standing_hashes().where(
            SuppressionEntry.key_hash == sa.bindparam("key_hash")
        )
        values = values.where(~standing.exists())
    return (
        insert(table)
        .from_select(list(person), values, include_defaults=False)
        .on_conflict_do_nothing()  # the address is taken: a known person
        .returning(table.c.id)
    )


def _chained_inserts(rows: Rows, dialect: str, guarded: bool) -> sa.Select:
    """The person's INSERT and the other rows' as one PostgreSQL statement.

    Each INSERT after the first selects the new id from the RETURNING of the one before: the
    chain makes PostgreSQL write (and number) the rows in order, which sibling WITH queries
    would not, so consent events keep the order they happened in.
    """
    previous = _person_insert(rows, dialect, guarded).cte("new_row_0")
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
