"""The embedded form in the admin: its allow-lists on /admin/settings, and each public list's
snippet on its page."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from newsletter import settings
from newsletter.extensions import db
from newsletter.models import AuditEvent, ConsentWording, EmbedWording
from newsletter.subscriptions.embed import wording_issued
from tests.support.embedding import snippet_fields
from tests.support.signin import sign_in


def save(client, **fields):
    return client.post("/admin/settings", data=fields)


def test_sites_and_thank_you_pages_are_saved_normalised_and_audited(app, admin_client):
    response = save(
        admin_client,
        embed_origins="HTTPS://www.Example.org/\n\nhttps://bücher.example:443\nhttps://www.example.org",
        embed_thanks_urls="https://www.example.org/thanks",
    )
    assert response.status_code == 302
    assert app.config["EMBED_ORIGINS"] == {
        "https://www.example.org",
        "https://xn--bcher-kva.example",
    }
    assert app.config["EMBED_THANKS_URLS"] == {"https://www.example.org/thanks"}
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "https://www.example.org\nhttps://xn--bcher-kva.example</textarea>" in page
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.changed")
    ).all()
    assert event.detail["embed_origins"] == {
        "from": "",
        "to": "https://www.example.org\nhttps://xn--bcher-kva.example",
    }
    assert event.actor == "admin@example.org"


def test_a_site_with_a_path_is_refused_naming_it(app, admin_client):
    response = save(admin_client, embed_origins="https://ok.example\nhttps://www.example.org/news")
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert "There is a problem" in page
    assert "“https://www.example.org/news” is not just a site" in page
    assert 'href="#embed_origins"' in page
    assert settings.stored_row() is None
    assert not app.config.get("EMBED_ORIGINS")


def test_a_thank_you_page_must_be_https_when_the_app_is(app, admin_client):
    app.config["BASE_URL"] = "https://news.example.org"
    response = save(admin_client, embed_thanks_urls="http://www.example.org/thanks")
    assert response.status_code == 422
    assert "must start with https://" in unescape(response.get_data(as_text=True))
    app.config["BASE_URL"] = "http://localhost"
    assert save(admin_client, embed_thanks_urls="http://www.example.org/thanks").status_code == 302


def snippet_on(page: str) -> str:
    found = re.search(r'<textarea[^>]*id="snippet"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no snippet on the page"
    return unescape(found.group(1))


def test_a_public_lists_page_offers_its_snippet(app, admin_client, news):
    """A plain, accessible form posting to BASE_URL/subscribe/embed, its wording issued."""
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    snippet = snippet_on(page)
    assert '<form action="http://localhost/subscribe/embed" method="post"' in snippet
    assert '<label for="newsletter-news-email">Email address</label>' in snippet
    assert 'autocomplete="email"' in snippet
    assert "<script" not in snippet
    assert 'aria-hidden="true"' in snippet and 'name="website"' in snippet
    assert 'tabindex="-1"' in snippet
    assert "By selecting “Sign up” you ask" in snippet
    assert '<button type="submit">Sign up</button>' in snippet
    fields = snippet_fields(snippet)
    assert fields["lists"] == "news"
    version = fields["wording"]
    assert wording_issued(news.id, version)
    assert "Monthly news from the coalition." in db.session.get(ConsentWording, version).text
    assert "No site is allowed to use it yet" in page
    assert 'href="/admin/settings#embed"' in page


def test_the_page_names_the_allowed_sites_and_offers_the_thank_you_pages(app, admin_client, news):
    save(
        admin_client,
        embed_origins="https://www.example.org",
        embed_thanks_urls="https://www.example.org/thanks",
    )
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert '<code class="break-anywhere">https://www.example.org</code>' in page
    assert '<option value="https://www.example.org/thanks">' in page
    assert "thanks" not in snippet_fields(snippet_on(page))
    chosen = admin_client.get("/admin/lists/news?thanks=https://www.example.org/thanks")
    assert snippet_fields(snippet_on(chosen.get_data(as_text=True)))["thanks"] == (
        "https://www.example.org/thanks"
    )
    unlisted = admin_client.get("/admin/lists/news?thanks=https://evil.example/")
    assert "thanks" not in snippet_fields(snippet_on(unlisted.get_data(as_text=True)))


def test_viewing_again_issues_nothing_new(admin_client, news):
    for _ in range(3):
        admin_client.get("/admin/lists/news")
    assert len(db.session.scalars(select(EmbedWording)).all()) == 1


def test_the_snippet_downloads_as_a_file(admin_client, news):
    response = admin_client.get("/admin/lists/news/sign-up-form.html")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="sign-up-form-news.html"'
    )
    assert "/subscribe/embed" in response.get_data(as_text=True)


def test_a_private_list_has_no_snippet(admin_client, make):
    make.list("board", name="Board", is_public=False)
    page = admin_client.get("/admin/lists/board").get_data(as_text=True)
    assert 'id="snippet"' not in page
    assert admin_client.get("/admin/lists/board/sign-up-form.html").status_code == 404


def test_editors_see_the_snippet_but_not_the_settings_link(client, make, news):
    make.account(email="ed@example.org", role="editor")
    sign_in(client, "ed@example.org")
    page = client.get("/admin/lists/news").get_data(as_text=True)
    assert 'id="snippet"' in page
    assert "An admin can change the sites" in page
