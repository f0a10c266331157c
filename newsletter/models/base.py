"""Helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from newsletter.extensions import Base, db

if TYPE_CHECKING:
    # db.Model is made at run time from Base (its metadata, plus Flask-SQLAlchemy's mixins), so
    # a type checker cannot take it as a base class; Base declares the same mapping.
    class Model(Base):
        __abstract__ = True
        # Each model maps one Table, so Core statements can be built on `Model.__table__`.
        __table__: ClassVar[sa.Table]
else:
    Model = db.Model


# PostgreSQL's INTEGER, the type of every primary key (SQLite's reaches 2**63 - 1). An id
# beyond it overflows either driver: an error instead of "not found".
MAX_ID = 2**31 - 1

M = TypeVar("M", bound="Model")


def get_by_id(model: type[M], row_id: int) -> M | None:
    """The row of `model` with this id, or None, for any integer a person typed."""
    if not 1 <= row_id <= MAX_ID:
        return None
    return db.session.get(model, row_id)


def changed_rows(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through `Session.execute` matched.

    The session types every result as `Result`; for these statements it is a `CursorResult`.
    """
    assert isinstance(result, sa.CursorResult)
    return result.rowcount


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite keeps no zone; store naive UTC there so that string comparisons order by time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
