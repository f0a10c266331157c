"""Headers that keep personal pages out of caches and the site on https, and no database
value in a log line."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.subscriptions.links import confirmation_token, preferences_token
from newsletter.web.headers import SHARED_ENDPOINTS
from tests import factories


@pytest.fixture
def person(make, news):
    return make.subscriber("jo@example.com", lists=[news], name="Jo")


def private_pages(person, news, issue) -> list[tuple[str, str]]:
    """(method, path) of pages that show a person's data or a form bound to a session."""
    return [
        ("GET", "/admin/"),
        ("GET", "/admin/subscribers?q=jo@"),
        ("GET", f"/admin/subscribers/{person.id}"),
        ("POST", f"/admin/subscribers/{person.id}/export"),
        ("GET", f"/admin/lists/{news.slug}/subscribers.csv"),
        ("GET", f"/admin/issues/{issue.id}/preview"),
        ("GET", "/admin/outbox"),
        ("GET", f"/preferences/{preferences_token(person)}"),
        ("GET", f"/confirm/{confirmation_token(person, [news.id])}"),
        ("GET", f"/unsubscribe/{person.unsubscribe_token}"),
        ("GET", f"/unsubscribe/{person.unsubscribe_token}/{issue.id}"),
        ("GET", "/subscribe"),
    ]


def test_pages_with_personal_data_are_never_stored_by_a_cache(admin_client, person, news, make):
    """Admin pages, exports and every page a subscriber's link opens: no-store."""
    issue = factories.sent_issue(make, [news])
    for method, path in private_pages(person, news, issue):
        response = admin_client.open(path, method=method)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_every_page_but_the_shared_ones_is_no_store(app, admin_client, news, make):
    """Walking the routes: a page is private unless named in SHARED_ENDPOINTS."""
    issue = factories.sent_issue(make, [news])
    assert admin_client.get(f"/archive/{issue.id}").headers.get("Cache-Control") != "no-store", (
        "the archive, the same for everyone, may be cached"
    )
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or rule.endpoint in SHARED_ENDPOINTS:
            continue
        response = admin_client.get(rule.rule)
        assert response.headers["Cache-Control"] == "no-store", rule.rule


def test_hsts_is_sent_when_base_url_is_https(app, client):
    app.config["BASE_URL"] = "https://news.example.org"
    for path in ("/subscribe", "/archive", "/admin/login", "/no-such-page"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_hsts_over_plain_http(app, client):
    """On http (serve on a laptop) HSTS would lock a browser out of the next http site."""
    app.config["BASE_URL"] = "http://127.0.0.1:5000"
    assert "Strict-Transport-Security" not in client.get("/subscribe").headers


def test_a_database_error_in_a_request_logs_no_value(app, client, person, caplog):
    """A failed INSERT quoting an address (PostgreSQL's DETAIL names the duplicate key, and
    SQLAlchemy's message its parameters) reaches the log as its kind and names only."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def duplicate():
        db.session.execute(
            sa.text(
                "INSERT INTO subscriber (email, email_key, key_hash, name) VALUES (:e, :k, :h, :n)"
            ),
            {"e": "jo@example.com", "k": "jo@example.com", "h": "0" * 64, "n": "Secret Name"},
        )
        return "unreachable"

    app.add_url_rule("/_test/duplicate", view_func=duplicate)
    caplog.set_level(logging.INFO)
    response = client.get("/_test/duplicate")
    assert response.status_code == 500
    assert "IntegrityError" in caplog.text
    assert "jo@example.com" not in caplog.text
    assert "Secret Name" not in caplog.text
