"""Mailing lists: creation, changes and lookup."""

import pytest
from sqlalchemy import select

from newsletter.errors import ConflictError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.lists import create_list, get_list, update_list
from newsletter.models import AuditEvent


def test_create_list_derives_the_list_id_label_from_the_bounce_domain(app):
    """Without a label the List-Id is the slug under BOUNCE_DOMAIN (RFC 2919)."""
    app.config["BOUNCE_DOMAIN"] = "example.org"
    mailing_list = create_list("monthly-news", "Monthly news", actor="test")
    assert mailing_list.list_id_label == "monthly-news.example.org"


def test_create_list_defaults_to_public_and_double_opt_in(app):
    """A new list is public and asks for confirmation unless told otherwise."""
    mailing_list = create_list("news", "News", actor="test")
    assert mailing_list.is_public and mailing_list.double_opt_in


@pytest.mark.parametrize("slug", ["News", "news letter", "-news", "x" * 65, "café"])
def test_create_list_refuses_a_slug_that_is_not_lowercase_letters_digits_and_hyphens(app, slug):
    """Slugs are 1 to 64 lowercase letters, digits or hyphens."""
    with pytest.raises(ValidationError, match="Slug must be"):
        create_list(slug, "News", actor="test")


def test_create_list_without_a_slug_makes_a_unique_one_from_the_name(app):
    """ "Café news" -> cafe-news; the next ones with that slug get -2 and -3."""
    assert create_list("", "Café news", actor="test").slug == "cafe-news"
    assert create_list("", "Cafe News!", actor="test").slug == "cafe-news-2"
    assert create_list("", "CAFÉ NEWS!", actor="test").slug == "cafe-news-3"
    assert create_list("", "新闻", actor="test").slug == "list"


def test_create_list_accepts_a_64_character_slug(app):
    """The upper bound is inclusive."""
    assert create_list("a" * 64, "Long", actor="test").slug == "a" * 64


def test_create_list_refuses_a_duplicate_slug(make):
    """The second list with a slug is a conflict naming the slug."""
    make.list(slug="news")
    with pytest.raises(ConflictError, match="a list with the slug 'news' exists already"):
        create_list("news", "Other news", actor="test")


def test_create_list_refuses_a_blank_name(app):
    """Every list needs a name people can read."""
    with pytest.raises(ValidationError, match="Enter a name"):
        create_list("news", "   ", actor="test")


def test_create_list_refuses_a_malformed_list_id_label(app):
    """The List-Id label needs dot-separated parts."""
    with pytest.raises(ValidationError, match="List-Id label"):
        create_list("news", "News", list_id_label="no dots here", actor="test")


def test_create_list_is_audited(app):
    """list.created names the list."""
    create_list("news", "News", actor="cli")
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor, event.target) == ("list.created", "cli", "list:news")


def test_get_list_finds_a_list_by_slug(make):
    """get_list returns the list with that slug."""
    mailing_list = make.list(slug="news")
    assert get_list("news") == mailing_list


def test_get_list_raises_not_found_for_an_unknown_slug(app):
    """An unknown slug is a NotFoundError with a sentence naming it."""
    with pytest.raises(NotFoundError, match="no list with the slug 'nope'"):
        get_list("nope")


def test_update_list_audits_the_fields_that_changed(make):
    """list.updated records exactly the fields that changed."""
    mailing_list = make.list(slug="news", name="News")
    changed = update_list(
        mailing_list,
        name="Weekly news",
        description="",
        is_public=False,
        double_opt_in=True,
        list_id_label=mailing_list.list_id_label,
        actor="test",
    )
    assert changed == ["name", "is_public"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "list.updated")).one()
    assert event.detail == {"changed": ["name", "is_public"]}


def test_update_list_with_no_change_writes_no_audit_event(make):
    """Saving an unchanged form leaves the audit log alone."""
    mailing_list = make.list(slug="news", name="News")
    update_list(
        mailing_list,
        name="News",
        description="",
        is_public=True,
        double_opt_in=True,
        list_id_label=mailing_list.list_id_label,
        actor="test",
    )
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "list.updated" not in actions
