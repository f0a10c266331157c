"""The secretariat's view of its audience: finding people, counting them, exporting a list.

Search matches part of an address or of a name. On PostgreSQL a trigram GIN index on the two
together (migration 0005) keeps `LIKE '%term%'` fast at a million people; results are paged
by keyset (`after` the last id shown), never by OFFSET. A broad match is counted only up to
COUNT_CAP, since counting it all would read every matching row; list and status filters are
counted exactly from the subscription indexes of migration 0011, and the suppressed from the
partial index of each person's display flag `subscriber.suppressed` (migration 0021).

Everything here reads, except `export_list`, which commits the export's audit record before
the rows are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from newsletter import suppression
from newsletter.audit import record
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import (
    Account,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionEntry,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.search_text import contains_folded

PAGE_SIZE = 50
# Exactly the expression of the trigram index of migration 0005 (written out, so that the
# space is a constant there and here, not a bound parameter the index could not match).
SEARCH_TEXT = sa.literal_column("(email_key || ' ' || lower(name))", sa.String)
MIN_SEARCH_LENGTH = 3
MAX_SEARCH_LENGTH = 200


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


@dataclass(frozen=True)
class SearchPage:
    rows: Sequence[sa.Row]
    next_after: int | None


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


class Sort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    ADDRESS = "address"


# A broad text search is counted up to here, then said to match "more than" this many.
COUNT_CAP = 1000
# Everyone, unfiltered, is PostgreSQL's estimate past this many (exact counting of a million
# people reads a million index entries on every visit of the page).
ESTIMATE_ABOVE = 100_000


@dataclass(frozen=True)
class Filters:
    """What the subscribers page asks for: a text, a list, a status on it, and an order.

    The status is per list: a person with a pending subscription to any list (or to the
    chosen one) matches `pending`. Suppression is the person's, whatever their lists.
    """

    term: str = ""
    list_id: int | None = None
    status: SubscriptionStatus | None = None
    sort: Sort = Sort.NEWEST
    # Only people against whom a suppression reason stands (on the chosen list, if any).
    suppressed: bool = False

    @property
    def by_address(self) -> bool:
        """Address order does not combine with a text search (its index cannot serve both)."""
        return self.sort == Sort.ADDRESS and not self.term

    @property
    def newest_first(self) -> bool:
        return self.sort == Sort.NEWEST or (self.sort == Sort.ADDRESS and bool(self.term))


def _filtered(query: sa.Select, filters: Filters) -> sa.Select:
    table, subscription = Subscriber.__table__, Subscription.__table__
    if filters.term:
        # Case folded, ß and final ς included, on the index's own expression (search_text.py).
        query = query.where(contains_folded(SEARCH_TEXT, filters.term))
    if filters.suppressed:
        # The display flag (kept by suppression.sync_flags), served by its partial index on
        # id; the send path tests the suppression list itself, never this.
        query = query.where(table.c.suppressed)
    if filters.list_id is not None:
        # One subscription a person and list: a join, which walks the list's own index.
        on = [subscription.c.subscriber_id == table.c.id]
        on.append(subscription.c.list_id == filters.list_id)
        if filters.status is not None:
            on.append(subscription.c.status == filters.status)
        query = query.join(subscription, sa.and_(*on))
    elif filters.status is not None:
        query = query.where(
            sa.exists().where(
                subscription.c.subscriber_id == table.c.id,
                subscription.c.status == filters.status,
            )
        )
    return query


def find_query(filters: Filters, after: int | None = None, limit: int = PAGE_SIZE) -> sa.Select:
    """One keyset page of people matching `filters`, in their order, continuing after `after`.

    `after` is the id of the last person shown; in address order the next page starts after
    that person's address key (looked up by id, so no address travels in a URL).
    """
    table = Subscriber.__table__
    query = _filtered(
        sa.select(table.c.id, table.c.email, table.c.email_key, table.c.name, table.c.created_at),
        filters,
    )
    if filters.by_address:
        if after:
            last = sa.select(table.c.email_key).where(table.c.id == after).scalar_subquery()
            query = query.where(table.c.email_key > last)
        return query.order_by(table.c.email_key).limit(limit + 1)
    if filters.newest_first:
        if after:
            query = query.where(table.c.id < after)
        return query.order_by(table.c.id.desc()).limit(limit + 1)
    if after:
        query = query.where(table.c.id > after)
    return query.order_by(table.c.id).limit(limit + 1)


def find_subscribers(
    filters: Filters, after: int | None = None, limit: int = PAGE_SIZE
) -> SearchPage:
    """One page of the people `filters` match and the id to continue after, if there are more."""
    filters = replace(filters, term=check_search(filters.term))
    rows = db.session.execute(find_query(filters, after, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(rows, rows[-1].id if more else None)


@dataclass(frozen=True)
class Count:
    n: int
    more: bool  # True: "more than n"
    about: bool = False  # True: the database's estimate, "about n"


def count_subscribers(filters: Filters) -> Count:
    """How many people match: exactly for list, status and suppressed filters, up to COUNT_CAP
    with a text.

    A broad text search would read every matching row to count them all, so it stops at
    the cap and says "more than"; everyone, unfiltered, past ESTIMATE_ABOVE on PostgreSQL is
    the planner's estimate ("about").
    """
    table = Subscriber.__table__
    filters = replace(filters, term=check_search(filters.term))
    if filters.term:
        capped = _filtered(sa.select(table.c.id), filters).limit(COUNT_CAP + 1).subquery()
        n = db.session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0
        return Count(min(n, COUNT_CAP), n > COUNT_CAP)
    if filters.suppressed:
        # The suppressed people (few beside everyone) read from the partial index of the
        # flagged ids, then their lists and statuses checked.
        query = _filtered(sa.select(sa.func.count()).select_from(table), filters)
        return Count(db.session.scalar(query) or 0, False)
    if filters.list_id is not None:
        # Counted from the subscription index alone, never touching the people.
        subscription = Subscription.__table__
        query = (
            sa.select(sa.func.count())
            .select_from(subscription)
            .where(subscription.c.list_id == filters.list_id)
        )
        if filters.status is not None:
            query = query.where(subscription.c.status == filters.status)
        return Count(db.session.scalar(query) or 0, False)
    if filters.status is not None:
        # People, not subscriptions: distinct ids, read in order from the (status, subscriber)
        # index of migration 0011.
        subscription = Subscription.__table__
        query = sa.select(sa.func.count(sa.distinct(subscription.c.subscriber_id))).where(
            subscription.c.status == filters.status
        )
        return Count(db.session.scalar(query) or 0, False)
    estimate = _estimated_people()
    if estimate is not None and estimate > ESTIMATE_ABOVE:
        return Count(estimate, False, about=True)
    return Count(db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0, False)


def _estimated_people() -> int | None:
    """PostgreSQL's own estimate of the number of people (kept by ANALYZE and autovacuum)."""
    if db.engine.dialect.name != "postgresql":
        return None
    estimate = db.session.scalar(
        sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'subscriber'::regclass")
    )
    return int(estimate) if estimate is not None and estimate >= 0 else None


@dataclass(frozen=True)
class Standing:
    """A person's subscription on one list, as a row of the subscribers page shows it."""

    list_name: str
    status: SubscriptionStatus


def standings(subscriber_ids: Sequence[int]) -> dict[int, list[Standing]]:
    """Each person's lists and statuses, for one page of people, in one query."""
    if not subscriber_ids:
        return {}
    rows = db.session.execute(
        sa.select(Subscription.subscriber_id, MailingList.name, Subscription.status)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id.in_(list(subscriber_ids)))
        .order_by(Subscription.subscriber_id, Subscription.list_id)
    ).all()
    found: dict[int, list[Standing]] = {}
    for subscriber_id, name, status in rows:
        found.setdefault(subscriber_id, []).append(Standing(name, SubscriptionStatus(status)))
    return found


def suppressed_reasons(keys: Sequence[str]) -> dict[str, list[SuppressionReason]]:
    """The standing suppression reasons of each of these address keys that has any (one query)."""
    if not keys:
        return {}
    hash_key = suppression.hasher()
    by_hash = {hash_key(key): key for key in keys}
    rows = db.session.execute(
        sa.select(SuppressionEntry.key_hash, SuppressionEntryReason.reason)
        .join(SuppressionEntryReason, SuppressionEntryReason.entry_id == SuppressionEntry.id)
        .where(suppression.STANDING, SuppressionEntry.key_hash.in_(list(by_hash)))
        .order_by(SuppressionEntryReason.id)
    ).all()
    found: dict[str, list[SuppressionReason]] = {}
    for key_hash, reason in rows:
        found.setdefault(by_hash[key_hash], []).append(SuppressionReason(reason))
    return found
