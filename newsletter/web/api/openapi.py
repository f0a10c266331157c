"""GET /api/v1/openapi.json: the document spectree writes from the operations' decorators."""

from __future__ import annotations

import copy

from flask import current_app

from newsletter.lists import SLUG_PATTERN
from newsletter.web.api.blueprint import bp, spec
from newsletter.web.api.problems import PROBLEM_TYPE

_DOCUMENT = "newsletter.api_document"


def document() -> dict:
    """spectree's document, with every problem answer given as `application/problem+json`,
    the media type the API sends it with (spectree names every body application/json)."""
    cached = current_app.extensions.get(_DOCUMENT)
    if cached is not None:
        return cached
    doc = copy.deepcopy(spec.spec)
    for operations in doc["paths"].values():
        for op in operations.values():
            for parameter in op.get("parameters", []):
                if parameter.get("in") == "path" and not parameter.get("schema"):
                    # Our own `slug` converter, which spectree does not know.
                    parameter["schema"] = {"type": "string", "pattern": f"^{SLUG_PATTERN.pattern}$"}
            for status, answer in op.get("responses", {}).items():
                content = answer.get("content", {})
                if status.startswith(("4", "5")) and "application/json" in content:
                    answer["content"] = {PROBLEM_TYPE: content["application/json"]}
    current_app.extensions[_DOCUMENT] = doc
    return doc


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return document()
