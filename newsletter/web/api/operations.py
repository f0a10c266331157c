"""One decorator per API operation: the token and its account's rights, then the body and
query validated by the models, and every answer (errors too) described in the document."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from pydantic import BaseModel, ValidationError
from spectree import Response

from newsletter.web.api.auth import Needs, authorised
from newsletter.web.api.blueprint import spec
from newsletter.web.api.idempotency import idempotent
from newsletter.web.api.problems import Problem, fail, problem_response

ERRORS = {
    "HTTP_400": (
        Problem,
        "The request could not be read (a body that is not a JSON object, a NUL byte)",
    ),
    "HTTP_401": (Problem, "No valid token"),
    "HTTP_403": (Problem, "The token's scope or its account's role does not allow this"),
    "HTTP_422": (Problem, "The request is not valid; the sentence says why"),
    "HTTP_429": (Problem, "Too many requests; Retry-After says when to try again"),
}


def operation(
    scope: str,
    needs: Needs = Needs.ANY,
    *,
    ok: tuple[str, type[BaseModel] | None],
    json: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    tags: tuple[str, ...] = (),
    not_found: bool = True,
    conflict: bool = False,
    shown_once: tuple[str, ...] = (),
) -> Callable:
    """Document and guard one operation; `ok` is its success (status, body model), whose
    `shown_once` fields an Idempotency-Key replay gives as null."""
    answers: dict[str, object] = {ok[0]: ok[1], **ERRORS}
    if not_found:
        answers["HTTP_404"] = (Problem, "No such thing")
    if conflict:
        answers["HTTP_409"] = (Problem, "The thing is not in a state that allows this")

    def decorate(view: Callable) -> Callable:
        validated = spec.validate(
            json=json,
            query=query,
            resp=Response(**answers),
            tags=tags,
            before=refuse_invalid,
            # Bodies are written by their models: ISO 8601 times, nothing undocumented.
            force_resp_serialize=True,
        )(view)
        if json is not None:
            validated = _json_object_body(validated)
        validated = idempotent(validated, shown_once)
        return authorised(scope, needs)(validated)

    return decorate


def _json_object_body(view: Callable) -> Callable:
    """400 for a body that is not a JSON object (spectree would read it as `{}`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not isinstance(request.get_json(force=True, silent=True), dict):
            fail(400, "Send the body as a JSON object (Content-Type: application/json).")
        return view(*args, **kwargs)

    return wrapper


def refuse_invalid(req, resp, error: Exception | None, instance, model_adapter) -> None:
    """spectree's hook after validation: an invalid request gets a 422 problem."""
    if error is None:
        return
    invalid = []
    if isinstance(error, ValidationError):
        for item in error.errors(include_context=False, include_url=False):
            field = ".".join(str(part) for part in item["loc"]) or "body"
            message = str(item["msg"]).removeprefix("Value error, ")
            invalid.append((field, message))
    detail = f"{invalid[0][0]}: {invalid[0][1]}" if invalid else "The request is not valid."
    abort(problem_response(422, detail, invalid=invalid))
