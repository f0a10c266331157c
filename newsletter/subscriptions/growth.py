"""How the audience grew and shrank, week by week: every way people join and leave.

Joins, from the consent events (append-only, indexed by `recorded_at`):
- sign-ups: `confirmed` and `resubscribed` events (a confirm link, a preferences link, a
  single opt-in form);
- imports: `imported` events, except those of an import that asked its people to confirm
  again (they are pending; their confirmation counts as a sign-up when it comes).

Leaves:
- unsubscribes: `unsubscribed` events, whatever the way (link, page, preferences, admin, an
  import of people who had left, a complaint: a complaint leaves every list);
- bounces: addresses suppressed for a hard bounce or repeated soft bounces. Their
  subscriptions stay as they were, but no mail reaches them any more, so they are counted as
  gone; suppressions hold no list, so a single list's figures leave them out.

An erasure deletes the person's events with them, joins included, so it is not counted: the
figures describe the people still held.

Everything here reads. Each figure is one grouped query bucketed by CASE, the same SQL on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMode,
    ImportJob,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.models.base import utcnow

SIGNUPS = (ConsentAction.CONFIRMED, ConsentAction.RESUBSCRIBED)
BOUNCE_REASONS = (SuppressionReason.HARD_BOUNCE, SuppressionReason.SOFT_BOUNCES)


@dataclass(frozen=True)
class Week:
    start: datetime
    signups: int = 0
    imports: int = 0
    unsubscribes: int = 0
    bounces: int = 0

    @property
    def joined(self) -> int:
        return self.signups + self.imports

    @property
    def left(self) -> int:
        return self.unsubscribes + self.bounces


def week_starts(weeks: int, now: datetime | None = None) -> list[datetime]:
    """The Mondays (00:00 UTC) of the last `weeks` weeks, this one last."""
    now = now or utcnow()
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday - timedelta(weeks=n) for n in reversed(range(weeks))]


def _bucket(column, starts: list[datetime]):
    """The index of the week `column` falls in (the range is filtered by the caller)."""
    return sa.case(
        *[(column >= start, n) for n, start in reversed(list(enumerate(starts)))], else_=-1
    )


def weekly_growth(
    weeks: int = 12, now: datetime | None = None, list_id: int | None = None
) -> list[Week]:
    """Joins and leaves in each of the last `weeks` weeks (Monday to Sunday), oldest first.

    With `list_id`, only that list's subscriptions (and no bounces: see the module's note).
    """
    starts = week_starts(weeks, now)
    figures: list[dict[str, int]] = [{} for _ in starts]
    event = ConsentEvent.__table__
    bucket = _bucket(event.c.recorded_at, starts).label("week")
    wanted = (*SIGNUPS, ConsentAction.IMPORTED, ConsentAction.UNSUBSCRIBED)
    query = (
        sa.select(bucket, event.c.action, sa.func.count().label("n"))
        .select_from(event.outerjoin(ImportJob, ImportJob.id == event.c.import_job_id))
        .where(
            event.c.recorded_at >= starts[0],
            event.c.action.in_(wanted),
            # Imported as pending, to confirm again: not (yet) a join.
            sa.or_(
                event.c.action != ConsentAction.IMPORTED,
                ImportJob.consent_mode.is_(None),
                ImportJob.consent_mode != ConsentMode.RECONFIRM,
            ),
        )
        .group_by(bucket, event.c.action)
    )
    if list_id is not None:
        query = query.where(event.c.list_id == list_id)
    for week, action, n in db.session.execute(query):
        series = {
            ConsentAction.CONFIRMED: "signups",
            ConsentAction.RESUBSCRIBED: "signups",
            ConsentAction.IMPORTED: "imports",
            ConsentAction.UNSUBSCRIBED: "unsubscribes",
        }[ConsentAction(action)]
        if week >= 0:
            figures[week][series] = figures[week].get(series, 0) + int(n)
    if list_id is None:
        reason = SuppressionEntryReason.__table__
        given = _bucket(reason.c.given_at, starts).label("week")
        bounced = (
            sa.select(given, sa.func.count(sa.distinct(reason.c.entry_id)))
            .where(reason.c.given_at >= starts[0], reason.c.reason.in_(BOUNCE_REASONS))
            .group_by(given)
        )
        for week, n in db.session.execute(bounced):
            if week >= 0:
                figures[week]["bounces"] = int(n)
    return [Week(start, **counts) for start, counts in zip(starts, figures, strict=True)]
