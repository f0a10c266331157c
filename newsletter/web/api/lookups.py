"""Things a request names by id or slug: a missing one in a path is 404, in a body 422."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.lists import get_list
from newsletter.models import MailingList


def named_lists(slugs: list[str]) -> list[MailingList]:
    """The lists named in a request, in the order given, each once; a slug that names no list
    is invalid input (422), not a missing resource."""
    try:
        return [get_list(slug) for slug in dict.fromkeys(slugs)]
    except NotFoundError as error:
        raise ValidationError(str(error)) from error


_KNOWN_LISTS = "newsletter.api_known_lists"
_KNOWN_LISTS_MAX = 1000
_ID_AND_SLUG = sa.select(MailingList.id, MailingList.slug).where(
    MailingList.slug.in_(sa.bindparam("slugs", expanding=True))
)


def list_ids_and_slugs(slugs: list[str]) -> list[sa.Row]:
    """As `named_lists`, but only each list's id and slug (rows, as the sign-up form passes
    them), for the add-subscriber call that queues a sign-up and needs no more.

    That call is the API's busiest, and a slug names the same list for good (slugs are fixed
    at creation and lists are never deleted): so each process remembers the pairs it has read
    back from the database and asks it again only for a slug it has not seen. A list made
    since is found at once, and a slug that names no list is looked up, and refused (422),
    every time. Nothing else about a list is remembered: the worker that records the sign-up
    reads the lists by id.
    """
    wanted = list(dict.fromkeys(slugs))
    known: dict[str, sa.Row] = current_app.extensions.setdefault(_KNOWN_LISTS, {})
    missing = [slug for slug in wanted if slug not in known]
    if missing:
        named_lists(missing)  # a slug that names no list: the same 422, before anything else
        found = {row.slug: row for row in db.session.execute(_ID_AND_SLUG, {"slugs": missing})}
        if len(known) < _KNOWN_LISTS_MAX:
            known.update(found)
        return [known.get(slug) or found[slug] for slug in wanted]
    return [known[slug] for slug in wanted]
