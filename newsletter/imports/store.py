"""Bulk reads and writes for one import batch, in the caller's transaction.

SQLAlchemy Core throughout: the ORM's unit of work costs far more per row than the rows'
SQL. On PostgreSQL new rows go in by COPY and lookups take one array parameter
(`= ANY(...)`); on SQLite rows go in by executemany and lookups are chunked `IN` lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from newsletter.models import (
    ConsentEvent,
    ImportReject,
    Subscriber,
    Subscription,
    SuppressionEntry,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.suppression import sync_flags

SQLITE_CHUNK = 500

# A column to look rows up by: a model's attribute or a Core column.
Column = InstrumentedAttribute[Any] | sa.ColumnElement[Any]
_JSON_COLUMNS = {"attributes", "detail"}


@dataclass
class SubscriberRow:
    id: int
    name: str
    attributes: dict


@dataclass
class SubscriptionRow:
    id: int
    status: str
    opt_in_level: str
    confirmed_at: datetime | None
    created_at: datetime
    unsubscribed_at: datetime | None


@dataclass
class SuppressionState:
    entry_id: int
    active: set[SuppressionReason] = field(default_factory=set)
    # Latest time each lifted reason was lifted.
    lifted: dict[SuppressionReason, datetime] = field(default_factory=dict)


def _postgres_type(column: sa.Column) -> str:
    """The PostgreSQL type name of a column, as binary COPY needs it."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        # json's binary form is its text: write the serialised string as it is.
        return "text"
    if isinstance(kind, sa.TypeDecorator):  # UTCDateTime
        return "timestamptz"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.BigInteger):
        return "int8"
    if isinstance(kind, sa.Integer):
        return "int4"
    if isinstance(kind, sa.Text):
        return "text"
    return "varchar"  # String and our non-native enums


class BatchStore:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    # Lookups -----------------------------------------------------------------------------

    def use_indexes(self) -> None:
        """Have PostgreSQL look the batch up through the unique indexes, not a table scan.

        A table an import is filling has no statistics yet (autovacuum analyses it later), so
        the planner takes it for small and scans it whole for every batch's 5,000 keys: at a
        few hundred thousand rows that is most of the server's work. The lookups are always by
        indexed keys, so scans are switched off for this transaction only (SET LOCAL).
        """
        if self.postgres:
            self.connection.execute(sa.text("SET LOCAL enable_seqscan = off"))

    def _rows(self, statement: sa.Select, column: Column, values: Iterable[Any]) -> list:
        values = list(values)
        if not values:
            return []
        if self.postgres and isinstance(values[0], str):
            return self._by_strings(statement, column, values)
        if self.postgres:
            item_type = sa.Integer() if isinstance(values[0], int) else sa.String()
            param = sa.bindparam("values", values, type_=postgresql.ARRAY(item_type))
            return list(self.connection.execute(statement.where(column == sa.any_(param))))
        rows: list[sa.Row[Any]] = []
        for start in range(0, len(values), SQLITE_CHUNK):
            chunk = values[start : start + SQLITE_CHUNK]
            rows.extend(self.connection.execute(statement.where(column.in_(chunk))))
        return rows

    def _by_strings(self, statement: sa.Select, column: Column, values: list) -> list:
        """The rows whose `column` is one of the strings `values`, the array sent in binary.

        psycopg writes a text array parameter by quoting each item with a regular expression,
        which at two lookups a row is a real share of an import; the binary form
        (`%(values)b`) has none.
        Only for statements whose columns need no SQLAlchemy result processing (no times).
        """
        where = statement.where(column == sa.any_(sa.bindparam("values")))
        sql = str(where.compile(dialect=self.connection.dialect))
        sql = sql.replace("%(values)s", "%(values)b")
        return list(self.connection.exec_driver_sql(sql, {"values": values}))

    def subscribers(self, keys: Iterable[str]) -> dict[str, SubscriberRow]:
        statement = sa.select(
            Subscriber.email_key, Subscriber.id, Subscriber.name, Subscriber.attributes
        )
        return {
            row.email_key: SubscriberRow(row.id, row.name, dict(row.attributes or {}))
            for row in self._rows(statement, Subscriber.email_key, keys)
        }

    def subscriptions(self, subscriber_ids: Iterable[int], list_id: int) -> dict:
        """Each subscriber's subscription to the list, and their latest confirmation anywhere."""
        statement = sa.select(
            Subscription.subscriber_id,
            Subscription.list_id,
            Subscription.id,
            Subscription.status,
            Subscription.opt_in_level,
            Subscription.confirmed_at,
            Subscription.created_at,
            Subscription.unsubscribed_at,
        )
        on_list: dict[int, SubscriptionRow] = {}
        latest: dict[int, datetime] = {}
        for row in self._rows(statement, Subscription.subscriber_id, subscriber_ids):
            if row.list_id == list_id:
                on_list[row.subscriber_id] = SubscriptionRow(
                    row.id, row.status, row.opt_in_level, row.confirmed_at, row.created_at,
                    row.unsubscribed_at,
                )  # fmt: skip
            if row.confirmed_at and row.status != "unsubscribed":
                previous = latest.get(row.subscriber_id)
                if previous is None or row.confirmed_at > previous:
                    latest[row.subscriber_id] = row.confirmed_at
        return {"on_list": on_list, "latest_confirmation": latest}

    def suppression(self, hashes: Iterable[str]) -> dict[str, SuppressionState]:
        entries = self._rows(
            sa.select(SuppressionEntry.key_hash, SuppressionEntry.id),
            SuppressionEntry.key_hash,
            hashes,
        )
        states = {row.key_hash: SuppressionState(row.id) for row in entries}
        by_id = {state.entry_id: state for state in states.values()}
        reasons = self._rows(
            sa.select(
                SuppressionEntryReason.entry_id,
                SuppressionEntryReason.reason,
                SuppressionEntryReason.lifted_at,
            ),
            SuppressionEntryReason.entry_id,
            by_id.keys(),
        )
        for row in reasons:
            state = by_id[row.entry_id]
            reason = SuppressionReason(row.reason)
            if row.lifted_at is None:
                state.active.add(reason)
            elif reason not in state.lifted or row.lifted_at > state.lifted[reason]:
                state.lifted[reason] = row.lifted_at
        return states

    # Writes ------------------------------------------------------------------------------

    def insert(self, table: sa.Table, rows: list[dict]) -> None:
        """Insert many rows (dicts with the same keys) as fast as the database allows."""
        if not rows:
            return
        columns = list(rows[0])
        json_columns = [name for name in columns if name in _JSON_COLUMNS]
        if not self.postgres:
            # JSON may come already serialised (from rows.Row); the JSON type wants objects.
            for row in rows:
                for name in json_columns:
                    if isinstance(row[name], str):
                        row[name] = json.loads(row[name])
            self.connection.execute(table.insert(), rows)
            return
        self.copy(table, columns, rows, json_columns)

    def copy(
        self,
        table: sa.Table,
        columns: list[str],
        rows: list[dict],
        json_columns: Sequence[str] = (),
        first: Sequence | None = None,
    ) -> None:
        """Binary COPY of `rows` (dicts in `columns` order, or after `first`'s values: each
        row's value of the first column comes from `first`). The server parses no text into
        integers and timestamps; JSON may come serialised already (rows.Row's) or as objects."""
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        driver = self.connection.connection.driver_connection
        assert driver is not None  # None only once a connection is closed
        serialised = all(isinstance(row[name], str) for row in rows for name in json_columns)
        if first is not None and not serialised:
            rows = [{columns[0]: value, **row} for value, row in zip(first, rows, strict=True)]
            first = None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([_postgres_type(table.c[name]) for name in columns])
            write = copy.write_row
            if first is not None:
                for value, row in zip(first, rows, strict=True):
                    write((value, *row.values()))
            elif serialised:
                for row in rows:
                    write(row.values())
            else:
                for row in rows:
                    write(
                        [
                            value if name not in json_columns or isinstance(value, str)
                            else json.dumps(value)
                            for name, value in row.items()
                        ]
                    )  # fmt: skip

    def insert_subscribers(self, rows: list[dict]) -> dict[str, int]:
        """Insert new people; returns their ids by canonical key."""
        if not rows:
            return {}
        if self.postgres:
            # Take the ids from the sequence first: no second query to learn them.
            ids = self.connection.scalars(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence('subscriber', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            ).all()
            columns = ["id", *rows[0]]
            self.copy(Subscriber.__table__, columns, rows, ["attributes"], first=ids)
            return {row["email_key"]: i for i, row in zip(ids, rows, strict=True)}
        self.insert(Subscriber.__table__, rows)
        found = self._rows(
            sa.select(Subscriber.email_key, Subscriber.id),
            Subscriber.email_key,
            [row["email_key"] for row in rows],
        )
        return {row.email_key: row.id for row in found}

    def insert_subscriptions(self, rows: list[dict]) -> None:
        self.insert(Subscription.__table__, rows)

    def insert_consent_events(self, rows: list[dict]) -> None:
        self.insert(ConsentEvent.__table__, rows)

    def insert_rejects(self, rows: list[dict]) -> None:
        self.insert(ImportReject.__table__, rows)

    def update_subscriptions(self, rows: list[dict]) -> None:
        self._update_many(Subscription.__table__, rows)

    def update_subscribers(self, rows: list[dict]) -> None:
        self._update_many(Subscriber.__table__, rows)

    def _update_many(self, table: sa.Table, rows: list[dict]) -> None:
        """UPDATE by id; rows are grouped by the set of columns they change."""
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            columns = tuple(sorted(k for k in row if k != "id"))
            groups.setdefault(columns, []).append({f"b_{k}": v for k, v in row.items()})
        for columns, params in groups.items():
            statement = (
                table.update()
                .where(table.c.id == sa.bindparam("b_id"))
                .values({c: sa.bindparam(f"b_{c}") for c in columns})
            )
            self.connection.execute(statement, params)

    def suppress(self, rows: list[dict]) -> None:
        """Give each address hash its reason: rows of key_hash, reason, given_at, note."""
        if not rows:
            return
        now = rows[0]["recorded_at"]
        hashes = sorted({row["key_hash"] for row in rows})
        table = SuppressionEntry.__table__
        insert = (postgresql.insert if self.postgres else sqlite.insert)(table)
        self.connection.execute(
            insert.on_conflict_do_nothing(index_elements=["key_hash"]),
            [{"key_hash": h, "created_at": now} for h in hashes],
        )
        ids = {
            row.key_hash: row.id
            for row in self._rows(
                sa.select(SuppressionEntry.key_hash, SuppressionEntry.id),
                SuppressionEntry.key_hash,
                hashes,
            )
        }
        self.insert(
            SuppressionEntryReason.__table__,
            [
                {
                    "entry_id": ids[row["key_hash"]],
                    "reason": row["reason"].value,
                    "given_at": row["given_at"],
                    "note": row["note"][:500],
                    "lifted_at": None,
                    "lifted_by": None,
                }
                for row in rows
            ],
        )
        # The people already held with these addresses show as suppressed from this batch on.
        step = len(hashes) if self.postgres else SQLITE_CHUNK
        for start in range(0, len(hashes), step):
            sync_flags(hashes[start : start + step], self.connection)
