"""Helpers for tests of the embeddable sign-up form (POST /subscribe/embed)."""

from __future__ import annotations

import re
from html import unescape

from newsletter import settings
from tests.support.subscribing import BROWSER

# The organisation's own website, allowed on /admin/settings, and its thank-you page.
SITE = "https://www.coalition.example"
THANKS = "https://www.coalition.example/thank-you"


def allow(app, origins: str = SITE, thanks: str = THANKS) -> None:
    """Save the embedded form's allow-lists as an admin would on /admin/settings."""
    settings.save(app, {"embed_origins": origins, "embed_thanks_urls": thanks}, actor="test")


def snippet_fields(html: str) -> dict[str, str]:
    """The hidden fields (name → value) of a snippet's form."""
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html)
    return {name: unescape(value) for name, value in found}


def issued_wording(app, slug: str = "news") -> str:
    """The wording version of the list's snippet, issued as its admin page issues it."""
    from newsletter.lists import get_list
    from newsletter.web.admin.snippet import snippet_for

    with app.test_request_context():
        return snippet_for(get_list(slug)).version


def post_embed(
    client,
    email: str,
    slug: str = "news",
    *,
    wording: str,
    name: str = "",
    origin: str | None = SITE,
    referer: str | None = None,
    ip: str = "192.0.2.20",
    **fields: str,
):
    """Post the snippet's form as a browser does from the page it is on (no cookie, no token)."""
    headers = {"User-Agent": BROWSER}
    if origin is not None:
        headers["Origin"] = origin
    if referer is not None:
        headers["Referer"] = referer
    data = {"email": email, "name": name, "website": "", "lists": slug, "wording": wording}
    return client.post(
        "/subscribe/embed",
        data={**data, **fields},
        headers=headers,
        environ_base={"REMOTE_ADDR": ip},
    )
