"""Every error of an API call as a problem (RFC 9457), never an HTML page or a traceback."""

from __future__ import annotations

import logging

from flask import Response, request
from werkzeug.exceptions import HTTPException

from newsletter.compose.issues import IssueStateError, SendRightRequired
from newsletter.errors import ConflictError, NewsletterError, NotFoundError
from newsletter.extensions import db
from newsletter.web.api.problems import DEFAULT_DETAILS, PROBLEM_TYPE, from_error, problem_response

log = logging.getLogger(__name__)


def is_api_request() -> bool:
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")


def http_problem(error: HTTPException) -> Response:
    """An HTTP error (a bare abort, 404 or 405 of an unknown route) as a problem."""
    response = error.response
    if isinstance(response, Response) and response.mimetype == PROBLEM_TYPE:
        return response
    code = error.code or 500
    headers = {}
    if code == 405 and error.get_response().headers.get("Allow"):
        headers["Allow"] = error.get_response().headers["Allow"]
    return problem_response(code, DEFAULT_DETAILS.get(code, "The request failed."), headers=headers)


def domain_problem(error: NewsletterError) -> Response:
    """A domain error: its own sentence, with the status that fits its kind."""
    db.session.rollback()
    if isinstance(error, NotFoundError):
        return from_error(error, 404)
    if isinstance(error, ConflictError | IssueStateError):
        return from_error(error, 409)
    if isinstance(error, SendRightRequired):
        return from_error(error, 403)
    return from_error(error, 422)


def internal_problem(error: Exception) -> Response:
    # The failed request may have left the session mid-transaction. Flask logs the exception.
    db.session.rollback()
    return problem_response(500, DEFAULT_DETAILS[500])


def register(bp) -> None:
    bp.register_error_handler(NewsletterError, domain_problem)
    bp.register_error_handler(HTTPException, http_problem)
    bp.register_error_handler(500, internal_problem)
