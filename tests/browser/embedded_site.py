"""The organisation's own website, with a list's sign-up form pasted in, for browser tests.

`serve_site` is a real HTTP server on another port (another origin, as the real site is);
`embedded_sign_up` makes a site up inside Chromium (Playwright answers its requests), for the
page states of pages.py, which have only the browser tab to act on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from flask import current_app

from newsletter.extensions import db

# Allowed on /admin/settings by the world of pages.py; Playwright plays the site.
MADE_UP_SITE = "http://www.coalition.example"
MADE_UP_THANKS = f"{MADE_UP_SITE}/thank-you"
REFUSED_SITE = "http://elsewhere.example"


def site_page(snippet: str, title: str = "Our news") -> str:
    """An ordinary page of the organisation's site, the snippet pasted into it."""
    return (
        '<!doctype html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} – Local Digital Coalition</title></head>\n"
        f"<body><main><h1>{title}</h1>\n{snippet}</main></body></html>\n"
    )


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@contextmanager
def serve_site(folder: Path) -> Iterator[str]:
    """`folder` served over HTTP on a free loopback port; yields the site's origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="organisation-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def news_snippet(thanks: str | None = None) -> str:
    """News's snippet as its admin page gives it (the wording issued as it is there)."""
    from newsletter.lists import get_list
    from newsletter.web.admin.snippet import snippet_for

    with current_app.test_request_context():
        html = snippet_for(get_list("news"), thanks).html
    db.session.remove()  # SQLite: leave the database to the server
    return html


def embedded_sign_up(email: str, site: str = MADE_UP_SITE, thanks: str | None = None) -> Callable:
    """On a made-up page of `site` holding News's snippet: type `email` and press Sign up."""

    def act(page) -> None:
        body = site_page(news_snippet(thanks))
        page.route(
            f"{site}/**",
            lambda route: route.fulfill(content_type="text/html; charset=utf-8", body=body),
        )
        page.goto(f"{site}/news")
        page.get_by_label("Email address", exact=True).fill(email)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign up").click()

    return act
