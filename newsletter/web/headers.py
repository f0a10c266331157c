"""Response headers every page gets, and the looser policy for message HTML in the admin.

Every response is `Cache-Control: no-store` (admin pages, exports, and every page reached by a
subscriber's link show personal data, and a form page carries a session's CSRF token) except
those of SHARED_ENDPOINTS: the same for everyone and naming no one. A new page is private until
it is added there. With an https BASE_URL every response also carries HSTS.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, current_app, g, request

CSP_DEFAULT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Message HTML shown inside the admin's own sandboxed iframes: inline styles and remote
# images as a mail client would show them, never script, framable only by our own pages.
CSP_MESSAGE_HTML = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:; "
    "font-src data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
    "sandbox"
)
# A captured mail in the outbox: as above, but nothing fetched from anywhere (a message's
# images could point at our own links), and its links open in a new tab outside the sandbox,
# where a person's click reaches the page as it would from a mail client.
CSP_OUTBOX_HTML = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)

# The public web version of an issue: the email's own HTML (inline styles, remote images), no
# script, not framable.
CSP_WEB_VERSION = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:; "
    "font-src data: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# Pages that are the same for every visitor and show no personal data: caches may keep them.
SHARED_ENDPOINTS = frozenset(
    {
        "static",
        "public.favicon",
        "public.favicon_svg",
        "public.home",
        "public.archive_index",
        "public.archive_issue",
        "public.archive_feed",
        "public.privacy",
        "public.accessibility",
    }
)
# A year, the figure browsers' preload lists ask for; subdomains are left to their own servers.
HSTS = "max-age=31536000"


def web_version_view(view: Callable) -> Callable:
    """Mark a view as serving an issue's web version (the email HTML as a page).

    Set once the view has returned: its 404 is one of our own pages, which needs our stylesheet.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        g.csp = CSP_WEB_VERSION
        return response

    return wrapper


def message_html_view(view: Callable, policy: str = CSP_MESSAGE_HTML) -> Callable:
    """Mark a view as serving message HTML into the admin's sandboxed iframe (not its 404)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        g.csp = policy
        return response

    return wrapper


def outbox_html_view(view: Callable) -> Callable:
    """Mark a view as serving a captured mail's HTML into the outbox's iframe (not its 404)."""
    return message_html_view(view, CSP_OUTBOX_HTML)


def _set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = g.get("csp", CSP_DEFAULT)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if "csp" in g else "DENY")
    if request.endpoint not in SHARED_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    if str(current_app.config.get("BASE_URL") or "").startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
