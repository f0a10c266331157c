"""Friendly pages for HTTP errors, so nobody sees a bare error or a traceback."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from newsletter.errors import NotFoundError
from newsletter.extensions import db
from newsletter.web.api.errors import http_problem, internal_problem, is_api_request

FRIENDLY_PAGES = (400, 403, 404, 405, 429)


def _friendly_page(error: HTTPException):
    if is_api_request():
        # An unknown route or method under /api/v1 (no view of the API ran): a problem too.
        return http_problem(error)
    # A view may hand over a page of its own (the sign-in page with its rate-limit message).
    if error.response is not None:
        return error.response
    return render_template(f"errors/{error.code}.html"), error.code


def _form_expired(error: CSRFError):
    return render_template("errors/400.html", form_expired=True), 400


def _not_found(error: NotFoundError):
    return render_template("errors/404.html"), 404


def _internal_error(error: Exception):
    if is_api_request():
        return internal_problem(error)
    # The failed request may have left the session mid-transaction.
    db.session.rollback()
    return render_template("errors/500.html"), 500


def init_app(app: Flask) -> None:
    for code in FRIENDLY_PAGES:
        app.register_error_handler(code, _friendly_page)
    app.register_error_handler(CSRFError, _form_expired)
    app.register_error_handler(NotFoundError, _not_found)
    app.register_error_handler(500, _internal_error)
