"""Errors as `application/problem+json` (RFC 9457), with the sentences the pages show."""

from __future__ import annotations

import json
from typing import NoReturn

from flask import Response, abort
from pydantic import BaseModel, Field

from newsletter.errors import NewsletterError
from newsletter.web.forms import sentence

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
}


class InvalidParam(BaseModel):
    """One field that was refused, and why."""

    name: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem; about:blank for plain HTTP")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    invalid_params: list[InvalidParam] | None = Field(
        default=None, alias="invalid-params", description="For 422: each refused field"
    )


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str = "about:blank",
    invalid: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response of this status and sentence."""
    body: dict[str, object] = {
        "type": kind,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if invalid:
        body["invalid-params"] = [{"name": name, "reason": reason} for name, reason in invalid]
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def fail(status: int, detail: str, **kwargs) -> NoReturn:
    """Stop the request with a problem response."""
    abort(problem_response(status, detail, **kwargs))


def from_error(error: NewsletterError, status: int = 422) -> Response:
    """A domain error as a problem, its sentence as the page would show it."""
    return problem_response(status, sentence(error))


DEFAULT_DETAILS = {
    400: "The request could not be read.",
    401: "Send an API token as `Authorization: Bearer nl_…`.",
    403: "This token may not do that.",
    404: "There is nothing here.",
    405: "This address does not take that method.",
    413: "The request is too large.",
    415: "Send the body as JSON.",
    429: "Too many requests: wait, then try again.",
    500: "Something went wrong on our side; it has been logged.",
}
