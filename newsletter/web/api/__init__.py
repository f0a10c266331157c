"""The JSON API under /api/v1 (docs/api.md): bearer tokens, problem+json errors, an OpenAPI
3.1 document written by spectree from the same models that validate each request."""

from __future__ import annotations

from flask import Flask

from newsletter.extensions import csrf
from newsletter.web.api import (  # noqa: F401 - each module registers its routes
    errors,
    imports,
    issues,
    lists,
    openapi,
    subscribers,
    suppressions,
    webhooks,
)
from newsletter.web.api.auth import forget_session_user
from newsletter.web.api.blueprint import bp, spec
from newsletter.web.api.limits import limit_blueprint

PREFIX = "/api/v1"

bp.before_request(forget_session_user)
errors.register(bp)
limit_blueprint(bp)
# Marks the document's own routes, which openapi.py replaces with its post-processed one.
spec.register(bp)


def init_app(app: Flask) -> None:
    """Register the API: no CSRF token (a bearer token is the proof, never a cookie)."""
    csrf.exempt(bp)
    app.register_blueprint(bp, url_prefix=PREFIX)
