"""The secretariat's view of its audience: finding people, counting them, exporting a list.

Search matches part of an address or of a name. On PostgreSQL a trigram GIN index on the two
together (migration 0005) keeps `LIKE '%term%'` fast at a million people; results are paged
by id (keyset: `id > after`), never by OFFSET, and never counted, since a count of a broad
match would read every matching row.

Everything here reads, except `export_list`, which commits the export's audit record before
the rows are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from newsletter.audit import record
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentEvent,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.models.base import utcnow

PAGE_SIZE = 50
# Exactly the expression of the trigram index of migration 0005 (written out, so that the
# space is a constant there and here, not a bound parameter the index could not match).
SEARCH_TEXT = sa.literal_column("(email_key || ' ' || lower(name))", sa.String)
MIN_SEARCH_LENGTH = 3
MAX_SEARCH_LENGTH = 200


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_search(term: str) -> str:
    """The search term, trimmed; a sentence if it cannot be searched for."""
    term = " ".join((term or "").split())
    if term and len(term) < MIN_SEARCH_LENGTH:
        raise ValidationError(f"Enter at least {MIN_SEARCH_LENGTH} characters to search")
    if len(term) > MAX_SEARCH_LENGTH:
        raise ValidationError(f"Search must be {MAX_SEARCH_LENGTH} characters or fewer")
    if "\x00" in term:
        raise ValidationError("Search cannot contain that character")
    return term


def search_query(term: str, after: int | None = None, limit: int = PAGE_SIZE) -> sa.Select:
    """People whose address or name contains `term` (any case), in id order after `after`."""
    table = Subscriber.__table__
    query = sa.select(table.c.id, table.c.email, table.c.name, table.c.created_at)
    if term:
        # The key is the address casefolded; the name is lowered in SEARCH_TEXT.
        query = query.where(SEARCH_TEXT.like(_like_pattern(term.casefold()), escape="\\"))
    if after:
        query = query.where(table.c.id > after)
    return query.order_by(table.c.id).limit(limit + 1)


@dataclass(frozen=True)
class SearchPage:
    rows: Sequence[sa.Row]
    next_after: int | None


def search_subscribers(term: str, after: int | None = None, limit: int = PAGE_SIZE) -> SearchPage:
    """One page of matches and the id to continue after, if there are more."""
    rows = db.session.execute(search_query(check_search(term), after, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(rows, rows[-1].id if more else None)


def subscribers_by_list_and_status() -> list[dict]:
    """Each list with its number of subscriptions in each state (zeros included)."""
    counts = {
        (list_id, SubscriptionStatus(status)): n
        for list_id, status, n in db.session.execute(
            sa.select(Subscription.list_id, Subscription.status, sa.func.count()).group_by(
                Subscription.list_id, Subscription.status
            )
        )
    }
    lists = db.session.scalars(sa.select(MailingList).order_by(MailingList.name))
    return [
        {
            "list": ml,
            "counts": {s.value: counts.get((ml.id, s), 0) for s in SubscriptionStatus},
        }
        for ml in lists
    ]


@dataclass(frozen=True)
class Week:
    start: datetime
    confirmations: int
    unsubscribes: int


def weekly_growth(weeks: int = 12, now: datetime | None = None) -> list[Week]:
    """Confirmations and unsubscribes recorded in each of the last `weeks` weeks (Mon–Sun).

    One indexed range scan of consent events (by `recorded_at`), bucketed by CASE, so the same
    SQL runs on SQLite and PostgreSQL.
    """
    now = now or utcnow()
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    starts = [monday - timedelta(weeks=n) for n in reversed(range(weeks))]
    joined = (ConsentAction.CONFIRMED, ConsentAction.RESUBSCRIBED)
    columns = []
    for n, start in enumerate(starts):
        in_week = sa.and_(
            ConsentEvent.recorded_at >= start,
            ConsentEvent.recorded_at < start + timedelta(weeks=1),
        )
        for label, actions in (("c", joined), ("u", (ConsentAction.UNSUBSCRIBED,))):
            hit = sa.and_(in_week, ConsentEvent.action.in_(actions))
            columns.append(
                sa.func.coalesce(sa.func.sum(sa.case((hit, 1), else_=0)), 0).label(f"{label}{n}")
            )
    row = db.session.execute(
        sa.select(*columns).where(
            ConsentEvent.recorded_at >= starts[0],
            ConsentEvent.action.in_((*joined, ConsentAction.UNSUBSCRIBED)),
        )
    ).one()
    return [
        Week(start, int(row._mapping[f"c{n}"]), int(row._mapping[f"u{n}"]))
        for n, start in enumerate(starts)
    ]


EXPORT_COLUMNS = (
    "email",
    "name",
    "status",
    "opt_in_level",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
)
_EXPORT_PAGE = 2000


def export_list(mailing_list: MailingList, actor: Account) -> Iterator[tuple]:
    """Audit a list's export (committed at once), then its rows as `list_export_rows` gives."""
    record("list.exported", target=f"list:{mailing_list.slug}", actor=actor)
    db.session.commit()
    return list_export_rows(mailing_list)


def list_export_rows(mailing_list: MailingList) -> Iterator[tuple]:
    """Every subscription of the list with its person, keyset-paged by subscription id."""
    subscription, subscriber = Subscription.__table__, Subscriber.__table__
    last = 0
    while True:
        page = db.session.execute(
            sa.select(
                subscription.c.id,
                subscriber.c.email,
                subscriber.c.name,
                subscription.c.status,
                subscription.c.opt_in_level,
                subscription.c.created_at,
                subscription.c.confirmed_at,
                subscription.c.unsubscribed_at,
            )
            .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
            .where(subscription.c.list_id == mailing_list.id, subscription.c.id > last)
            .order_by(subscription.c.id)
            .limit(_EXPORT_PAGE)
        ).all()
        if not page:
            return
        last = page[-1].id
        for row in page:
            yield tuple(
                value.isoformat() if isinstance(value, datetime) else str(value or "")
                for value in row[1:]
            )
