"""The public lists as the sign-up form offers them, remembered in each process for a moment.

The form is the busiest public page and its lists change a few times a year, so a process reads
them at most once every FRESH_FOR seconds instead of on every request. A commit in this process
that adds or changes a list forgets them at once; other processes (gunicorn's other workers, the
CLI) are seen within FRESH_FOR seconds. Lists are never deleted, so a row remembered a moment too
long still names a list that exists.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from newsletter.extensions import db
from newsletter.models import MailingList

FRESH_FOR = 2.0  # seconds
_clock = time.monotonic

_CACHE = "newsletter.public_list_choices"
_CHANGED = "newsletter.public_lists_changed"
_QUERY = (
    sa.select(
        MailingList.id,
        MailingList.slug,
        MailingList.name,
        MailingList.description,
        MailingList.double_opt_in,
    )
    .where(MailingList.is_public)
    .order_by(MailingList.name)
)
# Bumped by every commit that changed a list, in any app of this process (tests make many).
_generation = 0


@dataclass(frozen=True)
class _Remembered:
    rows: tuple[sa.Row, ...]
    generation: int
    until: float


def public_list_choices() -> Sequence[sa.Row]:
    """The public lists as plain rows (id, slug, name, description, double_opt_in), by name."""
    remembered = current_app.extensions.get(_CACHE)
    now = _clock()
    if remembered and remembered.generation == _generation and now < remembered.until:
        return remembered.rows
    generation = _generation  # read first: a change committed during the query reads again
    rows = tuple(db.session.connection().execute(_QUERY).all())
    current_app.extensions[_CACHE] = _Remembered(rows, generation, now + FRESH_FOR)
    return rows


@sa.event.listens_for(Session, "after_flush")
def _note_list_changes(session: Session, _context) -> None:
    # Still the state before the flush here: what is about to be written.
    if any(isinstance(o, MailingList) for o in chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED] = True


@sa.event.listens_for(Session, "after_commit")
def _forget_changed_lists(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


@sa.event.listens_for(Session, "after_rollback")
def _drop_rolled_back_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
