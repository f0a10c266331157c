"""The API blueprint and the SpecTree instance whose decorators validate requests and write
the OpenAPI document (newsletter/web/api/openapi.py serves it)."""

from __future__ import annotations

from flask import Blueprint
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

bp = Blueprint("api", __name__)

# mode "strict": the document holds only the routes this instance validates, so it never
# describes the HTML pages. No documentation pages of spectree's own (page_templates={}):
# they load scripts from a CDN, which the app's content security policy forbids.
spec = SpecTree(
    "flask",
    mode="strict",
    title="newsletter API",
    version="1",
    description="The JSON API of the newsletter (docs/api.md).",
    path="docs",
    page_templates={},
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="An API token (nl_…)"
            ),
        )
    ],
    security={"bearer": []},
)
