"""Mailing lists: creating, changing and finding them.

`create_list` and `update_list` commit, with their audit record; lookups change nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsletter.audit import record
from newsletter.errors import ConflictError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.mail.addresses import ascii_domain
from newsletter.models import (
    Account,
    Issue,
    IssueKind,
    IssueList,
    MailingList,
    Subscription,
    SubscriptionStatus,
)

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# RFC 2919 list-label "." list-id-namespace, kept to the characters every mail filter copes with.
LIST_ID_PATTERN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_NAME_LENGTH = 200
MAX_LIST_ID_LENGTH = 255

_EDITABLE_FIELDS = ("name", "description", "is_public", "double_opt_in", "list_id_label")


def check_slug(slug: str) -> str:
    """The slug if it is usable in URLs and forms, else ValidationError."""
    if not SLUG_PATTERN.fullmatch(slug or ""):
        raise ValidationError(
            "Slug must be 1 to 64 lowercase letters, digits or hyphens, "
            "starting with a letter or digit"
        )
    return slug


def slug_from_name(name: str) -> str:
    """An ASCII slug made from any name: "Café news" -> "cafe-news" ("list" if nothing is left).

    Letters without a decomposition are spelled out (ß -> ss), accents dropped (NFKD, then
    ASCII only), everything else that is not a letter or digit becomes one hyphen; the same
    rule as newsletter/static/slug.js, which fills the form in.
    """
    spelled = (name or "").lower().translate(_SPELLED_OUT)
    ascii_name = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:_SLUG_ROOM].strip("-")
    return slug or "list"


_SPELLED_OUT = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th"}
)
_SLUG_ROOM = 60  # of the 64 characters, leaving room for a "-2" … "-999" suffix


def unique_slug(name: str) -> str:
    """The slug from the name, with "-2", "-3" … added if a list has it already."""
    base = slug_from_name(name)
    taken = set(
        db.session.scalars(
            select(MailingList.slug).where(
                sa.or_(MailingList.slug == base, MailingList.slug.like(f"{base}-%"))
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def has_visible_text(text: str) -> bool:
    """Whether `text` has a character one can see: not only spaces, control and format
    characters (zero-width spaces, direction marks and overrides)."""
    return any(unicodedata.category(c)[0] not in "CZ" for c in text)


def check_name(name: str) -> str:
    """The name with spaces trimmed, or ValidationError."""
    name = (name or "").strip()
    if not has_visible_text(name):
        # Zero-width spaces or direction marks alone: a sign-up checkbox with no label.
        raise ValidationError("Enter a name for the list")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"Name must be {MAX_NAME_LENGTH} characters or fewer")
    return name


class ListNameTaken(ConflictError):
    """Another list has this name: two checkboxes reading the same on the sign-up form."""


def _name_key(name: str) -> str:
    # As a reader tells names apart: not by case, width or invisible characters.
    text = unicodedata.normalize("NFKC", name).casefold()
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split())


def check_name_free(name: str, keep: MailingList | None = None) -> None:
    """ListNameTaken if a list other than `keep` has this name, ignoring case and spacing.

    Lists are few (a handful to dozens), so their names are compared here rather than by a
    database index, which could not fold case alike on SQLite and PostgreSQL."""
    key = _name_key(name)
    for list_id, other in db.session.execute(select(MailingList.id, MailingList.name)):
        if _name_key(other) == key and (keep is None or list_id != keep.id):
            raise ListNameTaken(f"a list named '{other}' exists already: choose another name")


def check_list_id_label(label: str) -> str:
    """The List-Id label (RFC 2919, like news.example.org), or ValidationError."""
    label = (label or "").strip()
    if len(label) > MAX_LIST_ID_LENGTH or not LIST_ID_PATTERN.fullmatch(label):
        raise ValidationError(
            "List-Id label must look like news.example.org: letters, digits and hyphens "
            "in two or more parts separated by dots"
        )
    return label


def default_list_id_label(slug: str) -> str:
    """The slug under the bounce domain, e.g. news.example.org."""
    # List-Id is ASCII (RFC 2919): an internationalised domain goes as its A-label.
    return f"{slug}.{ascii_domain(current_app.config['BOUNCE_DOMAIN'])}"


def get_list(slug: str) -> MailingList:
    """The list with this slug, or NotFoundError."""
    if not SLUG_PATTERN.fullmatch(slug):
        # No such list can exist; and PostgreSQL refuses some text (a NUL byte) outright.
        raise NotFoundError(f"no list with the slug '{slug}'")
    mailing_list = db.session.scalar(select(MailingList).where(MailingList.slug == slug))
    if mailing_list is None:
        raise NotFoundError(f"no list with the slug '{slug}'")
    return mailing_list


def public_lists() -> list[MailingList]:
    """The lists anyone may join, by name."""
    return list(
        db.session.scalars(
            select(MailingList).where(MailingList.is_public).order_by(MailingList.name)
        )
    )


def all_lists() -> list[MailingList]:
    """Every list, ordered by name."""
    return list(db.session.scalars(select(MailingList).order_by(MailingList.name)))


def create_list(
    slug: str,
    name: str,
    description: str = "",
    is_public: bool = True,
    double_opt_in: bool = True,
    list_id_label: str | None = None,
    actor: Account | str | None = None,
) -> MailingList:
    """Create a mailing list; ValidationError or ConflictError if it cannot be.

    An empty slug is made from the name (`unique_slug`).
    """
    slug = (slug or "").strip() or unique_slug(check_name(name))
    check_slug(slug)
    check_name_free(check_name(name))
    exists_already = ConflictError(f"a list with the slug '{slug}' exists already")
    if db.session.scalar(select(MailingList.id).where(MailingList.slug == slug)):
        raise exists_already
    mailing_list = MailingList(
        slug=slug,
        name=check_name(name),
        description=(description or "").strip(),
        is_public=is_public,
        double_opt_in=double_opt_in,
        list_id_label=check_list_id_label(list_id_label or default_list_id_label(slug)),
    )
    db.session.add(mailing_list)
    try:
        db.session.flush()
    except IntegrityError as error:
        # Someone created the same slug between our check and our insert.
        db.session.rollback()
        raise exists_already from error
    record(
        "list.created",
        target=f"list:{slug}",
        detail={"name": mailing_list.name, "is_public": is_public, "double_opt_in": double_opt_in},
        actor=actor,
    )
    db.session.commit()
    return mailing_list


def update_list(
    mailing_list: MailingList,
    *,
    name: str,
    description: str,
    is_public: bool,
    double_opt_in: bool,
    list_id_label: str,
    actor: Account | str | None = None,
) -> list[str]:
    """Change a list's settings; returns the names of the fields that changed."""
    new_name = check_name(name)
    wanted = {
        "name": new_name,
        "description": (description or "").strip(),
        "is_public": bool(is_public),
        "double_opt_in": bool(double_opt_in),
        "list_id_label": check_list_id_label(list_id_label),
    }
    changed = [field for field in _EDITABLE_FIELDS if getattr(mailing_list, field) != wanted[field]]
    if not changed:
        return []
    if "name" in changed:
        check_name_free(new_name, keep=mailing_list)
    for field in changed:
        setattr(mailing_list, field, wanted[field])
    record(
        "list.updated",
        target=f"list:{mailing_list.slug}",
        detail={"changed": changed},
        actor=actor,
    )
    db.session.commit()
    return changed


@dataclass(frozen=True)
class ListCounts:
    """A list and its number of subscriptions in each state."""

    mailing_list: MailingList
    pending: int
    confirmed: int
    unsubscribed: int

    @property
    def total(self) -> int:
        return self.pending + self.confirmed + self.unsubscribed


def _counts_by_list(list_ids: list[int] | None = None) -> dict[tuple[int, str], int]:
    """(list id, status) -> subscriptions: one grouped query on the (list, status) index."""
    query = sa.select(Subscription.list_id, Subscription.status, sa.func.count()).group_by(
        Subscription.list_id, Subscription.status
    )
    if list_ids is not None:
        query = query.where(Subscription.list_id.in_(list_ids))
    return {(list_id, str(status)): n for list_id, status, n in db.session.execute(query)}


def _with_counts(mailing_list: MailingList, counts: dict[tuple[int, str], int]) -> ListCounts:
    def get(status: SubscriptionStatus) -> int:
        return counts.get((mailing_list.id, status.value), 0)

    return ListCounts(
        mailing_list,
        pending=get(SubscriptionStatus.PENDING),
        confirmed=get(SubscriptionStatus.CONFIRMED),
        unsubscribed=get(SubscriptionStatus.UNSUBSCRIBED),
    )


def lists_with_counts() -> list[ListCounts]:
    """Every list by name, with its subscriptions counted by state (two queries in all)."""
    counts = _counts_by_list()
    return [_with_counts(ml, counts) for ml in all_lists()]


def list_counts(mailing_list: MailingList) -> ListCounts:
    """One list's subscriptions counted by state."""
    return _with_counts(mailing_list, _counts_by_list([mailing_list.id]))


LIST_ISSUES_SHOWN = 50


def list_issues(mailing_list: MailingList, limit: int = LIST_ISSUES_SHOWN) -> list[Issue]:
    """The newest issues written for the list (any state), newest first."""
    return list(
        db.session.scalars(
            select(Issue)
            .join(IssueList, IssueList.issue_id == Issue.id)
            .where(IssueList.list_id == mailing_list.id, Issue.kind != IssueKind.WELCOME)
            .order_by(Issue.id.desc())
            .limit(limit)
        )
    )
