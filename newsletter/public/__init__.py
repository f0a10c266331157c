"""Pages anyone may open."""

from dataclasses import replace

from flask import Blueprint, request

from newsletter.consent import Origin

bp = Blueprint("public", __name__)


def request_origin() -> Origin:
    """This request's consent origin, its source the route ("/confirm/<token>"), not the path.

    Tokens in links are credentials (an unsubscribe token works for ever), so they stay out of
    the append-only evidence, as serve keeps them out of its request log.
    """
    origin = Origin.from_request()
    rule = request.url_rule
    return replace(origin, source=rule.rule) if rule is not None else origin


from newsletter.public import health, pages, preferences, signup  # noqa: E402, F401
